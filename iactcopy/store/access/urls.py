"""Stores named by URL: ``http(s)://``, ``sftp://`` and ``root://``; ``file://`` as a path.

:func:`open_source` turns a store root, path or URL, into a
:class:`~iactcopy.store.access.sources.Source`: a path or a ``file://`` URL gives the
same :class:`~iactcopy.store.access.sources.LocalSource` as before, an ``http``,
``https``, ``sftp`` or ``root`` URL an :class:`FsspecSource`.  The packages
of the ``remote`` extra (``pip install iactcopy[remote]``: fsspec and aiohttp
for http, fsspec-xrootd and xrootd for root, asyncssh for sftp where
OpenSSH's ``ssh`` is not installed) are imported only when such a URL is
used.  :func:`read_remote_master` reads a master file by URL;
:mod:`iactcopy.store.indexfetch` reads index files through any source.

Decisions:

* **Retries.** A transient failure (connection refused, reset or dropped,
  a timeout, HTTP 408, 425, 429 or 5xx) is tried again after
  :data:`RETRY_DELAYS`, :data:`ATTEMPTS` attempts in all; then it is that
  file's failure, with the number of attempts in the reason.  Anything else
  (404, 401, 403, a host key or server certificate that cannot be verified,
  a refused login) fails at once.  A copy that breaks off is started again
  from its first byte, and progress is not counted twice.  An sftp or
  XRootD connection that broke is opened anew.
* **Parallel transfers.** A source holds one aiohttp session (a pool of
  connections), one sftp client
  (:class:`~iactcopy.store.access.opensshsftp.OpenSshSftpClient`, or
  :class:`~iactcopy.store.access.sftp.SftpClient`) or one XRootD client
  (:class:`~iactcopy.store.access.xrootd.XRootDClient`), shared by the
  threads of :func:`~iactcopy.store.transfer.plan.plan_copy` and
  :func:`~iactcopy.store.transfer.copyfiles.copy_files`, so ``nthreads`` files are
  in flight at once; sftp and root also keep many block requests in flight
  within each file (:mod:`iactcopy.store.access.pipelinedread`).
* **Timeout.** ``timeout`` (the tools' hidden parameter, default
  :data:`TIMEOUT`) bounds the opening of a connection and every wait for
  data: a read that makes no progress for that long fails (and is tried
  again, as a transient failure).
* **Credentials.** https requests carry what
  :mod:`iactcopy.store.access.gridcredentials` finds (a bearer token, ~/.netrc, an
  X.509 certificate, extra CAs); a refusal names where the credentials sent
  came from, never what they are.
* **Times.** The modification time is what the server gives: HTTP
  ``Last-Modified`` (whole seconds), the sftp ``stat`` time, or a
  ``mtime``/``LastModified`` entry of another fsspec file system; None when
  there is none, and then equal sizes mean up to date (see
  :mod:`iactcopy.store.transfer.plan`).
* **sftp.** ``sftp://[user@]host[:port]/absolute/path``, through OpenSSH's
  ``ssh`` (:mod:`iactcopy.store.access.opensshsftp`) where it is on PATH:
  the login is the user's own SSH set-up (``~/.ssh/config``, the keys, an
  ssh-agent), and the server's host key must be in ``~/.ssh/known_hosts``;
  nothing ever prompts.  Without ``ssh``, or for a URL with a password
  (which ``ssh`` takes only from a terminal), asyncssh
  (:mod:`iactcopy.store.access.sftp`), which reads the same files.
* **root.** ``root://[user@]host[:port]//absolute/path``, through
  fsspec-xrootd; authentication is the XRootD client's own.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, unquote, urlsplit

from iactcopy.errors import DataStoreError
from iactcopy.store.access.readerrors import LoginRefused, as_os_error, error_reason
from iactcopy.store.access.sources import (
    CHUNK_SIZE,
    Destination,
    FileInfo,
    LocalSource,
    Source,
    check_relpath,
    write_all,
)
from iactcopy.store.master import MasterIndex

if TYPE_CHECKING:
    import ssl

    from iactcopy.store.access.gridcredentials import Credentials

__all__ = [
    "ATTEMPTS",
    "RETRY_DELAYS",
    "TIMEOUT",
    "URL_SCHEMES",
    "FsspecSource",
    "error_reason",
    "import_client",
    "is_url",
    "join_url",
    "local_path",
    "open_source",
    "read_remote_master",
]

log = logging.getLogger(__name__)

URL_SCHEMES = ("http", "https", "sftp", "root", "file")
"""The URL schemes a store may be named by; another ``scheme://`` is refused."""

ATTEMPTS = 3
"""How many times a transient failure is tried in all."""

RETRY_DELAYS = (0.5, 1.0)
"""Seconds to wait before the second and the third attempt (then the last one again)."""

TIMEOUT = 60.0
"""Seconds a connection may take to open, or stay silent while a file is read."""

_FSSPEC_SCHEMES = ("http", "https", "sftp", "root")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
_REMOTE_EXTRA = "pip install iactcopy[remote]"
_PACKAGES = {"http": "fsspec and aiohttp", "https": "fsspec and aiohttp",
             "sftp": "OpenSSH's ssh on PATH, or asyncssh",
             "root": "fsspec-xrootd and xrootd"}


def is_url(location: str | os.PathLike) -> bool:
    """Tell whether *location* is a URL (``scheme://...``) rather than a path.

    >>> is_url("https://example.org/hess/master.json"), is_url("/data/hess/master.json")
    (True, False)
    """
    return isinstance(location, str) and _SCHEME.match(location) is not None


def local_path(location: str | os.PathLike) -> str | None:
    """The local path *location* names, or None when it is a remote URL.

    A path is returned as it is; a ``file://`` URL gives its path.

    Raises
    ------
    DataStoreError
        For a URL whose scheme is not one of :data:`URL_SCHEMES`, or a
        ``file://`` URL naming another host.
    """
    if not is_url(location):
        return os.fspath(location)
    scheme = _scheme(location)
    if scheme != "file":
        return None
    parts = urlsplit(location)
    if parts.netloc not in ("", "localhost"):
        raise DataStoreError(f'"{location}" names a file on host "{parts.netloc}"; a file:// '
                             "URL must name a local file (file:///path/to/master.json).")
    return unquote(parts.path)


def open_source(root: str | os.PathLike) -> Source:
    """The source reading the files below *root*, a folder path or URL.

    Raises
    ------
    DataStoreError
        For an unsupported URL (see :func:`local_path`).
    ImportError
        For a remote URL when the packages of the ``remote`` extra are missing.
    """
    path = local_path(root)
    if path is not None:
        return LocalSource(path)
    return FsspecSource(os.fspath(root))


def join_url(root: str, relpath: str) -> str:
    """*root* URL, then *relpath* (checked, percent-encoded).

    >>> join_url("https://example.org/hess/", "sub dir/master.json")
    'https://example.org/hess/sub%20dir/master.json'
    """
    return f"{root.rstrip('/')}/{quote(check_relpath(relpath))}"


def read_remote_master(url: str, *, hint: str = "",
                       timeout: float | None = None) -> tuple[MasterIndex, FsspecSource]:
    """Read the master file at *url*; return it and the source of its folder.

    Parameters
    ----------
    url : str
        An http(s) or sftp URL of a master file.
    hint : str
        Added to the message when the file is not found. Default: none.
    timeout : float, optional
        Seconds a read may go without progress. Default: :data:`TIMEOUT`.

    Raises
    ------
    DataStoreError
        When the file is not found, the server cannot be reached (after
        :data:`ATTEMPTS` attempts), or the file is not a valid master index.
    """
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise DataStoreError(f'"{url}": a master file URL may have no query (?) or fragment (#).')
    folder, _, name = url.rpartition("/")
    if not name or "://" not in folder:
        raise DataStoreError(f'"{url}" names a folder; give the URL of the master file '
                             "(.../master.json).")
    source = FsspecSource(folder, timeout=timeout)
    try:
        data = source.read_bytes(unquote(name))
    except FileNotFoundError as err:
        raise DataStoreError(f'Master index file "{url}" not found.{hint}') from err
    except OSError as err:
        raise DataStoreError(f'Master index file "{url}" cannot be read: '
                             f"{error_reason(err)}.") from err
    return MasterIndex.from_bytes(data, url), source


class FsspecSource(Source):
    """The files below an ``http(s)://`` or ``sftp://`` URL, read through fsspec.

    Every error is an :class:`OSError`: ``FileNotFoundError`` for a file the
    server does not have, ``PermissionError`` when it refuses, and
    ``ConnectionError``, ``TimeoutError`` or a plain ``OSError`` (HTTP
    status) for the rest; transient ones are tried again first (module notes).

    Parameters
    ----------
    root : str
        The store folder, e.g. ``https://example.org/hess_dl3_dr1`` or
        ``sftp://user@host:2222/data/hess_dl3_dr1``.
    attempts : int, optional
        Attempts in all for a transient failure. Default: :data:`ATTEMPTS`.
    delays : sequence of float, optional
        Seconds before each new attempt. Default: :data:`RETRY_DELAYS`.
    timeout : float, optional
        Seconds for a connection to open or a read to make progress.
        Default: :data:`TIMEOUT`.

    Raises
    ------
    ValueError
        When *root* is not an http(s) or sftp URL, or has a query or fragment.
    ImportError
        When fsspec, or the package of the protocol, is not installed.
    """

    is_local = False

    def __init__(self, root: str, *, attempts: int | None = None,
                 delays: tuple[float, ...] | None = None, timeout: float | None = None):
        scheme = _scheme(root)
        if scheme not in _FSSPEC_SCHEMES:
            raise ValueError(f"root must be an http, https, sftp or root URL, not {root!r}")
        parts = urlsplit(root)
        if parts.query or parts.fragment:
            raise ValueError(f"a store URL may have no query or fragment: {root!r}")
        self.attempts = ATTEMPTS if attempts is None else attempts
        self.delays = tuple(RETRY_DELAYS if delays is None else delays)
        if self.attempts < 1 or not self.delays:
            raise ValueError("attempts must be at least 1, and delays must not be empty")
        self.timeout = TIMEOUT if timeout is None else timeout
        self.scheme = scheme
        self.root = root.rstrip("/")
        self._http = scheme in ("http", "https")
        # http: URLs (%-escapes kept, other characters quoted as needed);
        # sftp, root: absolute paths on the server (root://host//data/x is /data/x).
        self._base = self.root if self._http else "/" + unquote(parts.path).strip("/")
        if self._base == "/" and not self._http:
            self._base = ""
        self._fs: Any = None
        self._fs_lock = threading.Lock()
        self._sizes: dict[str, int] = {}
        _filesystem_class(scheme, root)  # a missing package is reported now, not per file
        # Found now too: a variable naming a missing file is one error, not one per file.
        from iactcopy.store.access.gridcredentials import find_credentials

        self.credentials = find_credentials(root) if self._http else None
        self._ssl = self.credentials.ssl_context() if scheme == "https" else None

    def url(self, relpath: str) -> str:
        """The URL of *relpath*, checked (:func:`check_relpath`) before it is built."""
        return join_url(self.root, relpath)

    def info(self, relpath: str) -> FileInfo:
        norm = check_relpath(relpath)
        url = self.url(norm)
        look_up = _http_info if self._http else _fs_info
        details = self._call(url, lambda fs: look_up(fs, self._fs_path(norm)))
        kind = details.get("type", "file")
        if kind == "directory":
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", url)
        if kind != "file":
            raise OSError(errno.EINVAL, "is not a regular file", url)
        if details.get("size") is None:
            raise OSError(errno.EIO, "the server does not give the size", url)
        found = FileInfo(size=int(details["size"]), mtime=_mtime(details), mode=_mode(details))
        self._sizes[norm] = found.size
        return found

    def open(self, relpath: str) -> BinaryIO:
        norm = check_relpath(relpath)
        return self._call(self.url(norm), lambda fs: self._open_stream(fs, norm))

    def read_bytes(self, relpath: str) -> bytes:
        norm = check_relpath(relpath)
        return self._call(self.url(norm), lambda fs: fs.cat_file(self._fs_path(norm)))

    def copy_to(self, relpath: str, dest: Destination, callback=None) -> int:
        norm = check_relpath(relpath)
        if isinstance(dest, (str, os.PathLike)):
            with open(dest, "wb") as out:
                return self._copy(norm, out, callback)
        return self._copy(norm, dest, callback)

    def expect(self, relpaths: list[str]) -> None:
        """Announce the files to be copied next: sftp and root start reading some ahead."""
        fs = self._fs
        if fs is None or not hasattr(fs, "expect"):
            return
        fs.expect([(self._fs_path(norm), self._sizes.get(norm))
                   for norm in map(check_relpath, relpaths)])

    def _copy(self, norm: str, out: BinaryIO, callback) -> int:
        start = out.tell() if out.seekable() else None
        most = 0  # the most bytes any attempt wrote; those are already reported

        def attempt(fs) -> int:
            nonlocal most
            if start is not None:
                out.seek(start)
                out.truncate()
            elif most:
                raise OSError(errno.ESPIPE, "the copy broke off, and its output cannot be "
                                            "rewound to start again")
            written = 0
            with self._open_stream(fs, norm) as src:
                while True:
                    data = src.read(CHUNK_SIZE)
                    if not data:
                        return written
                    write_all(out, data)
                    written += len(data)
                    if written > most:
                        if callback is not None:
                            callback.relative_update(written - most)
                        most = written

        return self._call(self.url(norm), attempt)

    def _open_stream(self, fs, norm: str) -> BinaryIO:
        path = self._fs_path(norm)
        if self._http:
            # block_size=0: one streamed GET; a size already known spares the
            # HEAD request fsspec would otherwise send first.
            return fs.open(path, "rb", block_size=0, size=self._sizes.get(norm))
        return fs.open(path, self._sizes.get(norm))

    def _fs_path(self, norm: str) -> str:
        return f"{self._base}/{quote(norm) if self._http else norm}"

    def _filesystem(self):
        # Made on first use, inside the retries: an sftp file system connects
        # when it is created.
        with self._fs_lock:
            if self._fs is None:
                self._fs = _make_filesystem(self.scheme, self.root, self.timeout,
                                            self.credentials, self._ssl)
            return self._fs

    def _forget(self, fs) -> None:
        # An sftp connection that broke stays broken: the next attempt makes
        # a new one (once, however many threads saw it break).  aiohttp
        # opens new connections by itself.
        with self._fs_lock:
            if self._fs is fs:
                self._fs = None

    def _call(self, what: str, action: Callable[[Any], Any]) -> Any:
        """Run ``action(fs)`` under the retry policy; any failure becomes an OSError."""
        for attempt in range(1, self.attempts + 1):
            fs = None
            try:
                fs = self._filesystem()
                return action(fs)
            except Exception as err:  # every backend error is classified below
                error, transient = as_os_error(err, what)
                if transient and fs is not None and not self._http:
                    self._forget(fs)
                if not transient or attempt == self.attempts:
                    if transient and attempt > 1:
                        error.strerror = f"{error.strerror} ({attempt} attempts)"
                    if isinstance(error, LoginRefused) and self.credentials is not None:
                        error.strerror = f"{error.strerror}; {self.credentials.describe()}"
                    if error is err:
                        raise
                    raise error from err
                delay = self.delays[min(attempt, len(self.delays)) - 1]
                log.info("%s: %s; attempt %d of %d, trying again in %.1f s", what,
                         error.strerror, attempt, self.attempts, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def import_client(url: str) -> None:
    """Import the packages that reading *url* needs (asyncssh, XRootD, aiohttp).

    Raises
    ------
    ImportError
        As :class:`FsspecSource` does, when they are missing.
    DataStoreError
        For an unsupported URL (see :func:`local_path`).
    """
    scheme = _scheme(url)
    if scheme in _FSSPEC_SCHEMES:
        _filesystem_class(scheme, url)


def _scheme(location: str) -> str | None:
    match = _SCHEME.match(location)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme not in URL_SCHEMES:
        raise DataStoreError(f'"{location}": URLs starting with "{scheme}://" are not '
                             f"supported; use {', '.join(URL_SCHEMES[:-1])} or file, or a path.")
    return scheme


def _filesystem_class(scheme: str, root: str | None = None) -> type:
    try:
        if scheme == "root":
            import fsspec_xrootd  # noqa: F401 - needed by XRootDClient
            import XRootD  # noqa: F401

            from iactcopy.store.access.xrootd import XRootDClient

            return XRootDClient
        if scheme == "sftp":
            return _sftp_client_class(root)
        import aiohttp  # noqa: F401 - needed by fsspec's HTTP file system
        from fsspec.implementations.http import HTTPFileSystem
    except ImportError as err:
        raise ImportError(f"{scheme}:// URLs need {_PACKAGES[scheme]}: "
                          f"{_REMOTE_EXTRA} ({err})") from err
    return HTTPFileSystem


def _sftp_client_class(root: str | None) -> type:
    """OpenSSH's ``ssh`` where it is on PATH and the URL holds no password; else asyncssh.

    ``ssh`` reads a password only from a terminal or a helper program, never
    from its caller, so a password in the URL goes to asyncssh.
    """
    from iactcopy.store.access import opensshsftp

    if opensshsftp.ssh_program() is not None and not (root and urlsplit(root).password):
        return opensshsftp.OpenSshSftpClient
    import asyncssh  # noqa: F401 - the SSH client of SftpClient

    from iactcopy.store.access.sftp import SftpClient

    return SftpClient


def _make_filesystem(scheme: str, root: str, timeout: float, credentials: Credentials | None,
                     context: ssl.SSLContext | None):
    cls = _filesystem_class(scheme, root)
    if scheme == "root":
        return cls(urlsplit(root).netloc, timeout=timeout)
    if scheme == "sftp":
        parts = urlsplit(root)
        login: dict[str, Any] = {"timeout": timeout}
        if parts.username:
            login["username"] = unquote(parts.username)
        if parts.password:
            login["password"] = unquote(parts.password)
        # No port in the URL: the SSH config's for the host, else 22.
        return cls(parts.hostname, parts.port, **login)
    import aiohttp

    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    options: dict[str, Any] = {"timeout": client_timeout}
    if credentials is not None and credentials.headers():
        options["headers"] = credentials.headers()
    if credentials is not None and credentials.basic is not None:
        options["auth"] = aiohttp.BasicAuth(*credentials.basic)
    return cls(skip_instance_cache=True, client_kwargs=options,
               get_client=functools.partial(_http_session, context=context))


async def _http_session(*, context: ssl.SSLContext | None, loop=None, **options):
    """fsspec's HTTP session, with our TLS context (made here: a connector needs the loop)."""
    import aiohttp

    connector = None if context is None else aiohttp.TCPConnector(ssl=context)
    return aiohttp.ClientSession(connector=connector, **options)


def _fs_info(fs, path: str) -> dict:
    return fs.info(path)


def _http_info(fs, url: str) -> dict:
    """fsspec's ``info()``, in one HEAD request where that is enough.

    fsspec follows any failed HEAD with a GET (for servers without HEAD), so
    a file that is not there costs two round trips; csiactcopy looks for six
    documentation files that are mostly absent.  Here a HEAD answered 404 or
    410 is final, and one answered 2xx with an unencoded ``Content-Length``
    gives size and ``Last-Modified``; anything else goes to ``fs.info()``.
    """
    from fsspec.asyn import sync

    async def head():
        session = await fs.set_session()
        async with session.head(url, allow_redirects=True,
                                headers={"Accept-Encoding": "identity"}) as response:
            return response.status, response.headers.copy()

    status, headers = sync(fs.loop, head)
    if status in (404, 410):
        raise FileNotFoundError(errno.ENOENT, f"not found (HTTP {status})", url)
    length = headers.get("Content-Length")
    if (200 <= status < 300 and length is not None and length.isdigit()
            and headers.get("Content-Encoding", "identity") in ("identity", "")):
        return {"type": "file", "size": int(length), "Last-Modified": headers.get("Last-Modified")}
    return fs.info(url)


def _mtime(details: dict) -> float | None:
    for key in ("mtime", "LastModified", "Last-Modified", "last_modified", "modified"):
        value = details.get(key)
        if value is not None:
            stamp = _timestamp(value)
            if stamp is not None:
                return stamp
    return None


def _timestamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif isinstance(value, str):
        from email.utils import parsedate_to_datetime

        try:
            moment = parsedate_to_datetime(value)  # HTTP: "Tue, 03 Jun 2008 11:05:30 GMT"
        except (TypeError, ValueError):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _mode(details: dict) -> int | None:
    for key in ("permissions", "mode"):
        value = details.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return stat.S_IMODE(value)
    return None
