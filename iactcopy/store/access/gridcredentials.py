"""https credentials found the way the grid sets them up: tokens, .netrc, X.509, CA bundles.

:func:`find_credentials` looks, for one store URL, at

* a **bearer token** (WLCG bearer token discovery): the variable
  ``BEARER_TOKEN``, else the file named by ``BEARER_TOKEN_FILE``, else
  ``$XDG_RUNTIME_DIR/bt_u<uid>``, else ``/tmp/bt_u<uid>``; sent as
  ``Authorization: Bearer``;
* else a ``machine`` entry for the host in **~/.netrc** (or the file named
  by ``NETRC``): HTTP basic credentials;
* an **X.509 client certificate**: the proxy named by ``X509_USER_PROXY``
  (certificate chain and key in one file), else ``X509_USER_CERT`` with
  ``X509_USER_KEY``; presented in the TLS handshake;
* the **certificate authorities** trusted: the system's, plus the bundle
  ``SSL_CERT_FILE`` and the hashed folder ``X509_CERT_DIR`` (the grid's
  ``/etc/grid-security/certificates``).

Credentials go over https only: a plain ``http://`` store gets none.  The
token and the password are never part of a message, a log line or a
``repr``: :meth:`Credentials.describe` says where they came from, not what
they are.  A variable that names a file that cannot be read is the user's
mistake, reported at once (:class:`~iactcopy.errors.DataStoreError`).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from iactcopy.errors import DataStoreError

__all__ = ["Credentials", "find_credentials"]


@dataclass(frozen=True)
class Credentials:
    """What a request to one https store carries (nothing for plain http).

    Attributes
    ----------
    token : str or None
        The bearer token (never shown: ``repr`` hides it).
    basic : tuple of (str, str) or None
        Login and password from .netrc (the password is never shown).
    client_cert : tuple of (str, str or None) or None
        Certificate file and key file (None: the key is in the certificate file).
    ca_file, ca_dir : str or None
        A CA bundle and a hashed CA folder trusted besides the system's.
    sources : tuple of str
        Where each login credential (token, password, certificate) was found,
        for messages.
    """

    token: str | None = field(default=None, repr=False)
    basic: tuple[str, str] | None = field(default=None, repr=False)
    client_cert: tuple[str, str | None] | None = None
    ca_file: str | None = None
    ca_dir: str | None = None
    sources: tuple[str, ...] = ()

    def headers(self) -> dict[str, str]:
        """The request headers: ``Authorization: Bearer`` for a token."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS context: the system's CAs and the extra ones, and the client certificate.

        Made for each store, rather than aiohttp's, which is made once and
        keeps the ``SSL_CERT_FILE`` of the moment aiohttp was imported.

        Raises
        ------
        DataStoreError
            When a certificate, key or CA file cannot be loaded.
        """
        context = ssl.create_default_context()
        try:
            if self.ca_file or self.ca_dir:
                context.load_verify_locations(cafile=self.ca_file, capath=self.ca_dir)
            if self.client_cert is not None:
                context.load_cert_chain(*self.client_cert)
        except (OSError, ssl.SSLError) as err:
            named = ", ".join(name for name, value in (
                ("SSL_CERT_FILE", self.ca_file), ("X509_CERT_DIR", self.ca_dir),
                ("the client certificate", self.client_cert)) if value)
            raise DataStoreError(f"cannot load the TLS files ({named}): "
                                 f"{getattr(err, 'strerror', None) or err}") from err
        return context

    def describe(self) -> str:
        """Where the credentials came from (never what they are), for messages."""
        if not self.sources:
            return ("no credentials were sent (none found: BEARER_TOKEN, BEARER_TOKEN_FILE, "
                    "~/.netrc, X509_USER_PROXY or X509_USER_CERT)")
        return "sent: " + ", ".join(self.sources)


def find_credentials(url: str, environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials for the store at *url* (module notes for where they are looked for).

    Parameters
    ----------
    url : str
        The store URL; only ``https`` gets credentials.
    environ : mapping, optional
        The environment. Default: ``os.environ``.

    Raises
    ------
    DataStoreError
        When a variable names a file that cannot be read, or ~/.netrc is
        malformed.
    """
    env = os.environ if environ is None else environ
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        return Credentials()
    sources: list[str] = []
    token = _bearer_token(env, sources)
    basic = None if token else _netrc_login(parts.hostname or "", env, sources)
    client_cert = _client_cert(env, sources)
    ca_file = _named_file(env, "SSL_CERT_FILE", [], "")
    ca_dir = env.get("X509_CERT_DIR") or None
    if ca_dir is not None and not os.path.isdir(ca_dir):
        raise DataStoreError(f'X509_CERT_DIR names "{ca_dir}", which is not a folder.')
    return Credentials(token=token, basic=basic, client_cert=client_cert, ca_file=ca_file,
                       ca_dir=ca_dir, sources=tuple(sources))


def _bearer_token(env: Mapping[str, str], sources: list) -> str | None:
    if env.get("BEARER_TOKEN", "").strip():
        sources.append("bearer token from BEARER_TOKEN")
        return env["BEARER_TOKEN"].strip()
    named = env.get("BEARER_TOKEN_FILE")
    if named:
        token = _read_token(named, "BEARER_TOKEN_FILE")
        sources.append(f"bearer token from BEARER_TOKEN_FILE ({named})")
        return token
    uid = os.getuid() if hasattr(os, "getuid") else None
    if uid is None:
        return None
    folders = [env["XDG_RUNTIME_DIR"]] if env.get("XDG_RUNTIME_DIR") else []
    for folder in [*folders, "/tmp"]:
        path = os.path.join(folder, f"bt_u{uid}")
        if os.path.isfile(path):
            token = _read_token(path, None)
            sources.append(f"bearer token from {path}")
            return token
    return None


def _read_token(path: str, variable: str | None) -> str:
    where = f'{variable} names "{path}"' if variable else f'The token file "{path}"'
    try:
        with open(path, encoding="utf-8") as stream:
            token = stream.read().strip()
    except (OSError, UnicodeDecodeError) as err:
        raise DataStoreError(f"{where}, which cannot be read: "
                             f"{getattr(err, 'strerror', None) or err}.") from err
    if not token or any(c.isspace() for c in token):
        raise DataStoreError(f"{where}, which holds no token (one line of text expected).")
    return token


def _netrc_login(host: str, env: Mapping[str, str], sources: list) -> tuple[str, str] | None:
    import netrc

    path = env.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if not os.path.isfile(path):
        return None
    try:
        entry = netrc.netrc(path).authenticators(host)
    except netrc.NetrcParseError as err:
        raise DataStoreError(f'"{err.filename}" line {err.lineno}: {err.msg}') from err
    except OSError as err:
        raise DataStoreError(f'"{path}" cannot be read: {err.strerror or err}') from err
    if entry is None or not entry[0]:
        return None
    sources.append(f"login {entry[0]!r} from {path}")
    return entry[0], entry[2] or ""


def _client_cert(env: Mapping[str, str], sources: list) -> tuple[str, str | None] | None:
    proxy = _named_file(env, "X509_USER_PROXY", sources, "X.509 proxy")
    if proxy:
        return proxy, None
    cert, key = env.get("X509_USER_CERT"), env.get("X509_USER_KEY")
    if not cert and not key:
        return None
    if not cert or not key:
        missing = "X509_USER_KEY" if cert else "X509_USER_CERT"
        raise DataStoreError(f"X509_USER_CERT and X509_USER_KEY go together; {missing} is "
                             "not set.")
    _named_file(env, "X509_USER_KEY", [], "")
    return _named_file(env, "X509_USER_CERT", sources, "X.509 certificate"), key


def _named_file(env: Mapping[str, str], variable: str, sources: list, what: str) -> str | None:
    path = env.get(variable)
    if not path:
        return None
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise DataStoreError(f'{variable} names "{path}", which is not a readable file.')
    if what:
        sources.append(f"{what} from {variable}")
    return path
