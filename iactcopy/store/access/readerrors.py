"""What a failed remote read means: the OSError to report, and whether to try again.

:func:`as_os_error` turns the error of any backend (aiohttp, asyncssh,
fsspec, the clients of :mod:`iactcopy.store.access.opensshsftp`,
:mod:`iactcopy.store.access.sftp` and
:mod:`iactcopy.store.access.xrootd`) into a built-in ``OSError`` whose words
a user can act on, and says whether it is transient (tried again by
:class:`iactcopy.store.access.urls.FsspecSource`): a dropped or refused
connection, a timeout, HTTP 408, 425, 429 or 5xx.  A missing file, a refused
login, an untrusted certificate or host key is final.
"""

from __future__ import annotations

import errno
import os
import sys

__all__ = ["LoginRefused", "as_os_error", "error_reason"]

_RETRY_STATUS = frozenset({408, 425, 429})


class LoginRefused(PermissionError):
    """The server refused the credentials sent (HTTP 401 or 403, a client certificate)."""


def as_os_error(err: Exception, what: str) -> tuple[OSError, bool]:
    """The OSError to report for a backend error, and whether it is transient."""
    cause: BaseException = err
    # fsspec's HTTP info() turns every failure into FileNotFoundError(url)
    # raised from the real one; the real one decides.
    if type(err) is FileNotFoundError and err.__cause__ is not None:
        cause = err.__cause__
    # An aiohttp error exists only once aiohttp is imported; importing it
    # here would add a fifth of a second to the first missing sftp or root file.
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None and isinstance(cause, aiohttp.ClientResponseError):
        status = cause.status
        text = f"HTTP {status} {cause.message}".strip()
        if status in (404, 410):
            return FileNotFoundError(errno.ENOENT, f"not found ({text})", what), False
        if status in (401, 403):
            return LoginRefused(errno.EACCES, f"access refused ({text})", what), False
        return OSError(errno.EIO, text, what), status in _RETRY_STATUS or status >= 500
    if isinstance(cause, FileNotFoundError):
        return FileNotFoundError(errno.ENOENT, "not found", what), False
    refused = _tls_refusal(cause, aiohttp)
    if refused is not None:
        kind = LoginRefused if "refused the login" in refused else PermissionError
        return kind(errno.EACCES, refused, what), False
    if type(cause).__name__ == "HostKeyNotVerifiable":  # asyncssh
        return PermissionError(errno.EACCES, f"{_text(cause).rstrip('.')}: its key is not in "
                                             "~/.ssh/known_hosts (connect once with ssh, or "
                                             "add it with ssh-keyscan)", what), False
    if isinstance(cause, PermissionError):
        why = cause.strerror or _text(cause)
        text = why if "refused" in why else f"access refused ({why})"
        return PermissionError(errno.EACCES, text, what), False
    if _is_timeout(cause):
        # An OSError's own words, without the "[Errno 110]" and path of its str().
        why = cause.strerror if isinstance(cause, OSError) and cause.strerror else _text(cause)
        return TimeoutError(errno.ETIMEDOUT, f"timed out ({why})", what), True
    if _is_connection_error(cause, aiohttp):
        return ConnectionError(errno.ECONNABORTED, _connection_text(cause), what), True
    if isinstance(err, OSError):
        return err, False
    return OSError(errno.EIO, f"{type(cause).__name__}: {_text(cause)}", what), False


def _tls_refusal(err: BaseException, aiohttp) -> str | None:
    """What went wrong in a TLS handshake that failed, or None for another error."""
    import ssl

    found: BaseException | None = err
    # aiohttp's certificate error is an ssl.SSLError itself; the one it wraps
    # has the words.
    while found is not None and (not isinstance(found, ssl.SSLError)
                                 or getattr(found, "certificate_error", None) is not None):
        found = (getattr(found, "certificate_error", None) or getattr(found, "os_error", None)
                 or found.__cause__ or found.__context__)
    if found is None:
        if aiohttp is None or not isinstance(err, aiohttp.ClientSSLError):
            return None
        found = err
    reason = getattr(found, "verify_message", None) or getattr(found, "reason", None) \
        or _text(found)
    if isinstance(found, ssl.SSLCertVerificationError):
        return (f"the server's certificate is not trusted ({reason}): give its CA with "
                "SSL_CERT_FILE or X509_CERT_DIR")
    if "CERTIFICATE_REQUIRED" in str(reason).upper() or "BAD_CERTIFICATE" in str(reason).upper():
        return f"the server refused the login: it wants a client certificate ({reason})"
    return f"TLS handshake failed ({reason})"


def _is_timeout(err: BaseException) -> bool:
    import asyncio

    return isinstance(err, (TimeoutError, asyncio.TimeoutError))


def _is_connection_error(err: BaseException, aiohttp) -> bool:
    if aiohttp is not None:
        if isinstance(err, (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)):
            return False
        if isinstance(err, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
            return True
    if type(err).__name__ == "ConnectionLost":  # asyncssh, without importing it
        return True
    return isinstance(err, ConnectionError)


def _connection_text(err: BaseException) -> str:
    host, port = getattr(err, "host", None), getattr(err, "port", None)
    cause = getattr(err, "os_error", None) or err  # aiohttp's ClientConnectorError wraps one
    why = os.strerror(cause.errno) if isinstance(cause, OSError) and cause.errno else _text(err)
    where = f"cannot connect to {host}:{port}" if host else "connection failed"
    return f"{where}: {why}"


def _text(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def error_reason(err: OSError) -> str:
    """The words of an OSError without its errno and file name."""
    return err.strerror or _text(err)
