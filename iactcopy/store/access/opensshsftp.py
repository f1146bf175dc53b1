"""An SFTP client over OpenSSH's ``ssh``: the SSH protocol in C, the file requests here.

:class:`OpenSshSftpClient` runs ``ssh -s host sftp`` and speaks version 3
of the SFTP protocol on its standard input and output.  It offers what
:class:`~iactcopy.store.access.urls.FsspecSource` needs, as
:class:`~iactcopy.store.access.sftp.SftpClient` (asyncssh, used where there
is no ``ssh`` or the URL holds a password) does: :meth:`~OpenSshSftpClient.info`,
:meth:`~OpenSshSftpClient.cat_file`, :meth:`~OpenSshSftpClient.open` and
:meth:`~OpenSshSftpClient.expect`.

Decisions (measurements in docs/benchmarks.rst, "Remote stores over links
with latency"):

* **OpenSSH does the SSH part.**  asyncssh decrypts and parses every SSH
  packet in Python, which bound a copy by the CPU; ``ssh`` does it in a
  process of its own, on another core, and Python sees one message per
  block of 255 KiB.  Nor is asyncssh imported (0.1-0.2 s).  The login is
  the user's own, as for ``ssh`` and sshfs: ``~/.ssh/config``, the agent,
  the keys, ``known_hosts``, ``ProxyJump``.
* **No prompt, ever** (``BatchMode``): an unknown host key or a refused key
  fails at once, in the words of ``ssh``'s last line on stderr, which is
  otherwise kept out of the terminal (logged at debug level).
* **$HOME is where ~/.ssh is.**  ``ssh`` finds ``~/.ssh`` by the password
  database, not ``$HOME``; when the two differ (a test's or a container's
  HOME), ``ssh`` is pointed at the config, ``known_hosts`` and keys under
  ``$HOME/.ssh``, the files asyncssh reads.
* **Reads in flight**, as in the asyncssh client and OpenSSH's own ``sftp``:
  :data:`READ_DEPTH` block requests per file, :data:`FILES_AHEAD` files
  opened ahead of the copy, one listing per folder (:data:`LIST_AHEAD`
  batches of names asked for at once), a file's size asked for with its
  first blocks, closes not waited for.
* **Sessions on one connection.**  OpenSSH's client gives a session a
  window of 2 MiB, which caps it at 2 MiB per round trip (100 MB/s at
  20 ms, 20 MB/s at 100 ms); :data:`CHANNELS` SFTP sessions share the
  files.  Only the first logs in: it is an OpenSSH control master (its
  socket in a private temporary folder), and the others are channels of
  its connection, ready two round trips after it, with no login for the
  server to pay.  A server that allows fewer sessions gets fewer.
* **A pipe of 1 MiB** from ``ssh`` (64 KiB by default): ``ssh`` writes a
  quarter of a second's worth of blocks without waiting for the reader.
* **Nothing is taken on trust from the pipe.**  A message longer than
  4 MiB (four times the largest block) or shorter than its header ends the
  session before anything is read into memory: a final error, "not an SFTP
  server, or one out of step".  A connection that breaks fails its
  requests as a ``ConnectionError``, in ssh's last words, which the caller
  tries again on a new client.
* **Threads, not asyncio.**  A writer thread sends the requests (a thread
  that answers a reply by sending more never blocks on a full pipe), a
  reader thread matches the replies to their requests by id and completes
  their :class:`concurrent.futures.Future`.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import errno
import logging
import os
import posixpath
import pwd
import queue
import shutil
import stat
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from iactcopy.store.access.pipelinedread import PipelinedReader, ReadAhead
from iactcopy.store.access.readerrors import LoginRefused

__all__ = ["CHANNELS", "FILES_AHEAD", "FIRST_BLOCKS", "LIST_AHEAD", "READ_DEPTH",
           "SUBFOLDERS_AHEAD",
           "OpenSshSftpClient", "ssh_program"]

log = logging.getLogger(__name__)

READ_DEPTH = 32
"""Read requests kept outstanding per file (each one block of the server's largest read)."""

FILES_AHEAD = 32
"""Files opened, and their first blocks asked for, before the copy gets to them."""

FIRST_BLOCKS = 4
"""Blocks asked for of a file opened ahead (1 MiB), until the copy gets to it."""

LIST_AHEAD = 4
"""Folder reads (about 100 names each) asked for at once when a folder is listed."""

SUBFOLDERS_AHEAD = 4
"""Subfolders of a master file's folder listed ahead, when it has no more than that."""

CHANNELS = 8
"""SFTP sessions over the one SSH connection; the files are spread over them."""

_BLOCK = 255 << 10  # OpenSSH's largest read, when the server does not say its own
_PIPE_SIZE = 1 << 20  # Linux's largest for anyone (/proc/sys/fs/pipe-max-size)
_SMALL_BLOCK = 32 << 10  # what every SFTP server must serve
_MIN_BLOCK = 16 << 10
# Four times the largest block asked for (1 MiB); OpenSSH's server sends at
# most 256 KiB.  A longer message is a server out of step or speaking nonsense.
_MAX_MESSAGE = 4 << 20

# SFTP version 3 message types and status codes (draft-ietf-secsh-filexfer-02).
_INIT, _VERSION, _OPEN, _CLOSE, _READ = 1, 2, 3, 4, 5
_FSTAT, _OPENDIR, _READDIR, _STAT, _EXTENDED = 8, 11, 12, 17, 200
_STATUS, _HANDLE, _DATA, _NAME, _ATTRS, _EXTENDED_REPLY = 101, 102, 103, 104, 105, 201
_OK, _EOF, _NO_SUCH_FILE, _PERMISSION_DENIED = 0, 1, 2, 3
_NO_CONNECTION, _CONNECTION_LOST = 6, 7
_READ_FLAG = 0x1
_ATTR_SIZE, _ATTR_UIDGID, _ATTR_PERMISSIONS, _ATTR_TIMES = 0x1, 0x2, 0x4, 0x8
_ATTR_EXTENDED = 0x80000000
_LIMITS = "limits@openssh.com"

# Hardware AES makes AES-GCM about twice as fast as OpenSSH's first choice,
# ChaCha20-Poly1305; the post-quantum hybrid key exchange that OpenSSH 9
# prefers costs both ends about 60 ms of CPU per login, and curve25519 is
# what asyncssh always used.  "^" puts them first in OpenSSH's own list.
_FAST_CHOICES = (("ciphers", "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"),
                 ("kexalgorithms", "^curve25519-sha256,curve25519-sha256@libssh.org"))
_SYSTEM_CONFIGS = ("/etc/ssh/ssh_config", "/etc/ssh/ssh_config.d")

_KEY_NAMES = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss",
              "id_dsa")


def ssh_program() -> str | None:
    """The path of OpenSSH's ``ssh``, or None when it is not on PATH."""
    return shutil.which("ssh")


class OpenSshSftpClient:
    """SFTP sessions over one SSH connection of ``ssh``, for reading files by absolute path.

    Parameters
    ----------
    host : str
        A host name, address, or ``Host`` alias of ``~/.ssh/config``.
    port : int or None
        None: the port of ``~/.ssh/config`` for *host*, else 22.
    username : str or None
        As in the URL; None lets ``ssh`` choose (``~/.ssh/config``, else the
        local user).
    timeout : float
        Seconds a connection may take to open, or a read may wait for data.
    depth : int, optional
        Read requests in flight per file. Default: :data:`READ_DEPTH`.
    channels : int, optional
        SFTP sessions to spread the files over. Default: :data:`CHANNELS`.
    """

    def __init__(self, host: str, port: int | None, *, username: str | None = None,
                 timeout: float = 60.0, depth: int | None = None,
                 channels: int | None = None):
        self.timeout = timeout
        self.depth = READ_DEPTH if depth is None else depth
        self._sessions: list[_Session] = []
        self._closed = False
        self._turn = 0
        self._lock = threading.Lock()
        self._listings: dict[str, concurrent.futures.Future] = {}
        self._listings_lock = threading.Lock()
        self._ahead = ReadAhead(self._start, FILES_AHEAD, FIRST_BLOCKS)
        command = _ssh_command(host, port, username, timeout)
        # A socket only we can reach: the folder is made private.
        self._control = tempfile.mkdtemp(prefix="iactcopy-ssh-")
        # A tool does not close its sources: the folder goes at exit at the latest.
        atexit.register(shutil.rmtree, self._control, ignore_errors=True)
        control = os.path.join(self._control, "c")
        first = self._add([*command[:1], "-o", "ControlMaster=yes", "-o",
                           f"ControlPath={control}", "-o", "ControlPersist=no", *command[1:]])
        assert first is not None
        started = time.monotonic()
        try:
            _wait(first.ready, timeout * 2)
        except BaseException:
            self.close()
            raise
        # The others share the logged-in connection: a channel each, no
        # login of their own (an SSH server limits logins in progress, not
        # sessions on a connection, to 10 by default).  Started from a
        # thread: the first file is asked for meanwhile.
        others = [*command[:1], "-o", "ControlMaster=no", "-o", f"ControlPath={control}",
                  *command[1:]]
        count = CHANNELS if channels is None else channels
        self._login = time.monotonic() - started
        self._joining = threading.Event()
        threading.Thread(target=self._add_others, args=(others, count - 1),
                         name="iactcopy-ssh-channels", daemon=True).start()

    def _add(self, command: list[str]) -> _Session | None:
        """A new session running *command*, or None once the client is closed."""
        with self._lock:
            if self._closed:
                return None
            session = _Session(command, self.timeout)
            self._sessions.append(session)
        session.ready.add_done_callback(_log_failed_login)
        return session

    def _add_others(self, command: list[str], count: int) -> None:
        added = []
        try:
            for _ in range(count):
                session = self._add(command)
                if session is None:
                    return
                added.append(session.ready)
            concurrent.futures.wait(added, self.timeout)
        except OSError as err:  # ssh could not be started again: fewer sessions
            log.debug("no more sftp sessions: %s", err)
        finally:
            self._joining.set()

    def _session(self) -> _Session:
        """The next session logged in, one that did not break if there is one.

        Asked of the sessions themselves, not kept in a list that callbacks
        of their logins fill: a callback holding the client would keep it,
        and its ssh processes, alive as long as their threads run.
        """
        with self._lock:
            ready = [session for session in self._sessions
                     if session.ready.done() and session.ready.exception() is None]
            usable = [session for session in ready if not session.broken] or ready
            self._turn = (self._turn + 1) % len(usable)
            return usable[self._turn]

    def info(self, path: str) -> dict:
        """``{"type", "size", "mtime", "permissions"}`` of *path* (links followed).

        The first look-up in a folder lists the folder; a name the listing
        does not have is not there.
        """
        folder, name = posixpath.split(path)
        entries = self._listed(folder)
        attrs = None if entries is None else entries.get(name)
        if entries is not None and attrs is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        if attrs is None or stat.S_ISLNK(attrs.get("permissions") or 0):
            session = self._session()
            attrs = _wait(session.request(_STAT, _string(path), path), self.timeout)
        return _info(attrs)

    def _listed(self, folder: str) -> dict | None:
        """The attributes of the entries of *folder* by name; None when it cannot be listed."""
        try:
            return _wait(self._listing(folder), self.timeout)
        except OSError as err:
            log.debug("cannot list %s (%s); looking files up one by one", folder, err)
            return None

    def _listing(self, folder: str) -> concurrent.futures.Future:
        """The listing of *folder*, started now if it is not under way."""
        with self._listings_lock:
            listing = self._listings.get(folder)
            if listing is None:
                listing = self._listings[folder] = self._session().list_folder(folder or "/")
            return listing

    def _list_subfolders(self, folder: str, listing: concurrent.futures.Future) -> None:
        """List the few subfolders of *folder* too: a store's data folder beside its indexes.

        The plan looks its files up there once the index files are read;
        listed meanwhile, that costs no round trips of its own.
        """
        if listing.exception() is not None:
            return
        names = [name for name, attrs in listing.result().items()
                 if name not in (".", "..") and stat.S_ISDIR(attrs.get("permissions") or 0)]
        if len(names) <= SUBFOLDERS_AHEAD:
            for name in names:
                self._listing(posixpath.join(folder, name))

    def cat_file(self, path: str) -> bytes:
        """The whole content of *path*."""
        with self.open(path) as reader:
            return reader.read()

    def open(self, path: str, size: int | None = None) -> PipelinedReader:
        """A reader of *path* with :attr:`depth` block requests in flight.

        Parameters
        ----------
        path : str
        size : int, optional
            The size, when known: no block is asked for past it. Default:
            read until the server says end of file.
        """
        return self._ahead.take(path) or self._start(path, size)

    def expect(self, files: list[tuple[str, int | None]]) -> None:
        """Announce the files (path, size) to be opened next: some are opened ahead.

        The files opened ahead are spread over the sessions, so the sessions
        still joining are waited for first: a channel takes two round trips,
        far less than the login did, which bounds the wait.
        """
        self._joining.wait(self._login)
        self._ahead.expect(files)

    def _start(self, path: str, size: int | None, first: int | None = None) -> PipelinedReader:
        """A reader whose open and first reads are sent, without waiting for them.

        An error of the open is raised by the first read.  Without a *size*,
        the size is asked for with the first reads (from the folder's
        listing, else by ``fstat``), and blocks past the first wait for it.
        """
        session = self._session()
        opened = session.request(_OPEN, _string(path) + struct.pack(">II", _READ_FLAG, 0), path)
        end = None if size is not None else self._size_of(session, path, opened)

        def read(offset: int, length: int) -> concurrent.futures.Future:
            if end is not None and offset > 0:
                return _then(end, lambda known: _done(b"") if known is not None
                             and offset >= known else session.read(opened, offset, length, path))
            return session.read(opened, offset, length, path)

        def close() -> None:
            opened.add_done_callback(lambda done: None if done.exception() is not None
                                     else session.send(_CLOSE, _string(done.result())))

        return PipelinedReader(read, path, block=session.block, depth=self.depth,
                               timeout=self.timeout, size=size, on_close=close, first=first)

    def _size_of(self, session: _Session, path: str,
                 opened: concurrent.futures.Future) -> concurrent.futures.Future:
        """The size of the file being *opened* (None when it cannot be had)."""
        folder, name = posixpath.split(path)
        # Started now for the look-ups that follow (the index files beside a
        # master file, the files a plan looks up).
        listing = self._listing(folder)
        listing.add_done_callback(lambda done: self._list_subfolders(folder, done))

        def from_handle(handle: bytes) -> concurrent.futures.Future:
            if listing.done() and listing.exception() is None:
                attrs = listing.result().get(name)
                if attrs is not None and not stat.S_ISLNK(attrs.get("permissions") or 0):
                    return _done(attrs.get("size"))
            return session.request(_FSTAT, _string(handle), path)

        sized = _then(opened, from_handle)
        size: concurrent.futures.Future = concurrent.futures.Future()

        def settle(done: concurrent.futures.Future) -> None:
            error = done.exception()
            if error is not None:
                log.debug("no size for %s: %s", path, error)
            size.set_result(None if error is not None else _size(done.result()))

        sized.add_done_callback(settle)
        return size

    def close(self) -> None:
        """End the SFTP sessions and their ssh processes."""
        with self._lock:
            self._closed = True
            sessions = list(self._sessions)
        for session in sessions:
            session.finish()
        # One wait for all: an ssh that does not end is not waited out in turn.
        deadline = time.monotonic() + 2
        for session in sessions:
            session.wait_closed(max(0.0, deadline - time.monotonic()))
        shutil.rmtree(self._control, ignore_errors=True)

    def __del__(self):
        # A client dropped without close() (its source forgotten, or a
        # connection that broke and was replaced): its ssh processes end.
        for session in getattr(self, "_sessions", ()):
            session.finish()
        if hasattr(self, "_control"):
            shutil.rmtree(self._control, ignore_errors=True)


class _Session:
    """One ``ssh`` process speaking SFTP: requests by id, each answered in a Future."""

    def __init__(self, command: list[str], timeout: float):
        self._timeout = timeout
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            bufsize=1 << 18, start_new_session=True)
        _widen(self._process.stdout)
        self._pending: dict[int, tuple[concurrent.futures.Future, str, int]] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._stderr: list[str] = []
        self.ready: concurrent.futures.Future = concurrent.futures.Future()
        self._broken: OSError | None = None
        self._stderr_done = threading.Event()
        self.block = _BLOCK
        self._outbox.put(_packet(_INIT, struct.pack(">I", 3)))
        for target, name in ((self._write, "writer"), (self._read, "reader"),
                             (self._read_stderr, "stderr")):
            threading.Thread(target=target, name=f"iactcopy-ssh-{name}", daemon=True).start()

    def _greeted(self, extensions: dict) -> None:
        """The server's SFTP version arrived: ask for its read limit, and be ready."""
        if _LIMITS in extensions:
            # Not waited for: blocks asked for before the answer are of
            # OpenSSH's size, which a server of smaller blocks shortens.
            self.request(_EXTENDED, _string(_LIMITS), _LIMITS).add_done_callback(self._limits)
        else:
            self.block = _SMALL_BLOCK
        self.ready.set_result(None)

    def _limits(self, done: concurrent.futures.Future) -> None:
        reply = None if done.exception() is not None else done.result()
        if reply and len(reply) >= 16:
            largest = struct.unpack_from(">Q", reply, 8)[0]
            if largest:
                self.block = max(min(largest, 1 << 20), _MIN_BLOCK)

    @property
    def broken(self) -> bool:
        """Whether the session ended (its requests fail at once)."""
        return self._broken is not None

    def send(self, kind: int, payload: bytes) -> None:
        """Send a request and forget its answer."""
        self.request(kind, payload, "")

    def request(self, kind: int, payload: bytes, path: str) -> concurrent.futures.Future:
        """Send a request; its Future gets the answer (*path* is named in errors)."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._broken is not None:
                future.set_exception(_copy(self._broken, path))
                return future
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            ident = self._next_id
            self._pending[ident] = (future, path, kind)
        self._outbox.put(_packet(kind, struct.pack(">I", ident) + payload))
        return future

    def read(self, opened: concurrent.futures.Future, offset: int, length: int,
             path: str) -> concurrent.futures.Future:
        """Read *length* bytes at *offset* of the file being *opened* (``b""`` past its end)."""
        return _then(opened, lambda handle: self.request(
            _READ, _string(handle) + struct.pack(">QI", offset, length), path))

    def list_folder(self, folder: str) -> concurrent.futures.Future:
        """The entries of *folder* by name, read with :data:`LIST_AHEAD` requests in flight."""
        found: dict[str, dict] = {}
        listing: concurrent.futures.Future = concurrent.futures.Future()
        opened = self.request(_OPENDIR, _string(folder), folder)

        def batches(done: concurrent.futures.Future) -> None:
            # Each request gets the next batch, whatever order the answers
            # come in: asking for several at once costs one round trip.
            if done.exception() is not None:
                listing.set_exception(done.exception())
                return
            handle = done.result()
            asked = [self.request(_READDIR, _string(handle), folder) for _ in range(LIST_AHEAD)]
            state = {"left": len(asked), "at_end": False, "failure": None}
            lock = threading.Lock()

            def one(batch: concurrent.futures.Future) -> None:
                error = batch.exception()
                with lock:
                    if error is None and batch.result():
                        found.update(batch.result())
                    else:
                        state["at_end"] = True
                        if not isinstance(error, (EOFError, type(None))):
                            state["failure"] = error
                    state["left"] -= 1
                    if state["left"]:
                        return
                if state["failure"] is not None:
                    self.send(_CLOSE, _string(handle))
                    listing.set_exception(state["failure"])
                elif state["at_end"]:
                    self.send(_CLOSE, _string(handle))
                    listing.set_result(found)
                else:
                    batches(done)

            for batch in asked:
                batch.add_done_callback(one)

        opened.add_done_callback(batches)
        return listing

    def _write(self) -> None:
        stream = self._process.stdin
        try:
            while True:
                packet = self._outbox.get()
                if packet is None:
                    break
                parts = [packet]
                # What else is queued goes in the same write.
                while len(parts) < 256:
                    try:
                        more = self._outbox.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._outbox.put(None)
                        break
                    parts.append(more)
                stream.write(b"".join(parts))
                stream.flush()
        except (OSError, ValueError) as err:
            log.debug("ssh's input closed: %s", err)
        finally:
            with contextlib.suppress(OSError):
                stream.close()

    def _read(self) -> None:
        stream = self._process.stdout
        try:
            length, kind = struct.unpack(">IB", _exactly(stream, 5))
            if kind != _VERSION or not 5 <= length <= _MAX_MESSAGE:
                raise _not_sftp(f"its first message is of type {kind} and {length} bytes")
            body = _exactly(stream, length - 1)
            self._greeted(dict(_extensions(body[4:])))
            while True:
                length, kind, ident = struct.unpack(">IBI", _exactly(stream, 9))
                # Checked before anything is read: a length is never trusted
                # with memory, nor a short one with the rest of the stream.
                if not 5 <= length <= _MAX_MESSAGE:
                    raise _not_sftp(f"a message of {length} bytes")
                if kind == _DATA:
                    size = struct.unpack(">I", _exactly(stream, 4))[0] if length >= 9 else -1
                    if size != length - 9:
                        raise _not_sftp(f"{size} bytes of data in a message of {length}")
                    self._answered(ident, _exactly(stream, size), None)
                else:
                    self._answered(ident, *_answer(kind, _exactly(stream, length - 5)))
        except Exception as err:  # whatever ends the stream ends the session
            self._fail(err)

    def _answered(self, ident: int, answer: Any, error: tuple[int, str] | None) -> None:
        """Complete the Future of request *ident*.

        A method of its own, so that the reader thread holds no Future
        between messages: a failed one holds the traceback of whoever waited
        for it, and with it the client that thread would keep alive.
        """
        with self._lock:
            entry = self._pending.pop(ident, None)
        if entry is None:
            return
        future, path, asked = entry
        if error is None:
            future.set_result(answer)
        elif error[0] == _EOF:
            # Past the end of a file or of a folder's listing.
            if asked == _READDIR:
                future.set_exception(EOFError())
            else:
                future.set_result(b"")
        else:
            future.set_exception(_status_error(error, path))

    def _fail(self, err: Exception) -> None:
        if not isinstance(err, EOFError):
            # A server that speaks nonsense: the session cannot go on.
            self._process.kill()
        try:
            code = self._process.wait(2)
        except subprocess.TimeoutExpired:  # its output closed, and still running
            self._process.kill()
            code = self._process.wait()
        # The stderr thread has read ssh's last words once the process ended.
        self._stderr_done.wait(5)
        broken = _ssh_error(code, self._stderr, err)
        with self._lock:
            self._broken = broken
            pending, self._pending = self._pending, {}
        if not self.ready.done():
            self.ready.set_exception(broken)
        for future, path, _ in pending.values():
            future.set_exception(_copy(broken, path))

    def _read_stderr(self) -> None:
        try:
            for line in self._process.stderr:
                text = line.decode("utf-8", "replace").strip()
                if text:
                    log.debug("ssh: %s", text)
                    self._stderr.append(text)
                    del self._stderr[:-20]
        finally:
            self._stderr_done.set()

    def finish(self) -> None:
        """Close ssh's input: the server ends the session, and ssh exits."""
        self._outbox.put(None)

    def wait_closed(self, timeout: float) -> None:
        """Wait *timeout* seconds for ssh to exit after :meth:`finish`, then stop it."""
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _log_failed_login(done: concurrent.futures.Future) -> None:
    if done.exception() is not None:
        log.debug("an sftp session failed: %s", done.exception())


def _ssh_command(host: str, port: int | None, username: str | None,
                 timeout: float) -> list[str]:
    if not host:
        raise OSError(errno.EINVAL, "the URL names no host (sftp://host/path)")
    program = ssh_program()
    if program is None:
        raise FileNotFoundError(errno.ENOENT, "OpenSSH's ssh is not on PATH", "ssh")
    command = [program, "-x", "-a", "-T", "-e", "none",
               "-o", "BatchMode=yes", "-o", "ClearAllForwardings=yes",
               "-o", "PermitLocalCommand=no", "-o", f"ConnectTimeout={max(1, round(timeout))}",
               "-o", f"ServerAliveInterval={max(1, round(timeout / 4))}",
               "-o", "ServerAliveCountMax=3"]
    if port is not None:
        command += ["-p", str(port)]
    home = _home_options()
    configured = _configured_keywords([*_SYSTEM_CONFIGS, *_user_configs(home)])
    # A choice of the user's own config stands; otherwise the faster one.
    for keyword, choice in _FAST_CHOICES:
        if keyword not in configured:
            command += ["-o", f"{keyword}={choice}"]
    command += home
    if username:
        command += ["-l", username]
    return [*command, "-s", "--", host, "sftp"]


def _home_options() -> list[str]:
    """Options that point ``ssh`` at ``$HOME/.ssh`` when ``$HOME`` is not the user's home."""
    home = os.path.expanduser("~")
    try:
        own = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        own = None
    if own is not None and os.path.realpath(own) == os.path.realpath(home):
        return []
    folder = os.path.join(home, ".ssh")
    options = ["-o", f"UserKnownHostsFile={folder}/known_hosts {folder}/known_hosts2"]
    config = os.path.join(folder, "config")
    if os.path.isfile(config):
        options = ["-F", config, *options]
    for name in _KEY_NAMES:
        key = os.path.join(folder, name)
        if os.path.isfile(key):
            options += ["-o", f"IdentityFile={key}"]
    return options


def _widen(stream) -> None:
    """Let ssh put up to 1 MiB in the pipe before it waits for us (64 KiB by default)."""
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)


def _user_configs(home_options: list[str]) -> list[str]:
    if "-F" in home_options:
        return [home_options[home_options.index("-F") + 1]]
    try:
        return [os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".ssh", "config")]
    except KeyError:
        return []


def _configured_keywords(paths: list[str]) -> set[str]:
    """The keywords (lower case) that the SSH config files (or folders of them) set."""
    found: set[str] = set()
    for path in paths:
        names = sorted(os.path.join(path, name) for name in os.listdir(path)
                       if name.endswith(".conf")) if os.path.isdir(path) else [path]
        for name in names:
            try:
                with open(name, encoding="utf-8", errors="replace") as config:
                    for line in config:
                        words = line.replace("=", " ").split()
                        if words and not words[0].startswith("#"):
                            found.add(words[0].lower())
            except OSError:
                continue
    return found


def _packet(kind: int, payload: bytes) -> bytes:
    return struct.pack(">IB", len(payload) + 1, kind) + payload


def _string(value: str | bytes) -> bytes:
    data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return struct.pack(">I", len(data)) + data


def _exactly(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("ssh closed the session")
    return data


class _Parser:
    """Fields read in turn from one SFTP message."""

    def __init__(self, data: bytes):
        self.data = data
        self.at = 0

    def uint32(self) -> int:
        value = struct.unpack_from(">I", self.data, self.at)[0]
        self.at += 4
        return value

    def uint64(self) -> int:
        value = struct.unpack_from(">Q", self.data, self.at)[0]
        self.at += 8
        return value

    def string(self) -> bytes:
        size = self.uint32()
        value = self.data[self.at:self.at + size]
        self.at += size
        return value

    def attrs(self) -> dict:
        flags = self.uint32()
        found: dict = {}
        if flags & _ATTR_SIZE:
            found["size"] = self.uint64()
        if flags & _ATTR_UIDGID:
            self.at += 8
        if flags & _ATTR_PERMISSIONS:
            found["permissions"] = self.uint32()
        if flags & _ATTR_TIMES:
            self.at += 4
            found["mtime"] = self.uint32()
        if flags & _ATTR_EXTENDED:
            for _ in range(self.uint32()):
                self.string()
                self.string()
        return found


def _extensions(data: bytes):
    parser = _Parser(data)
    while parser.at < len(data):
        yield parser.string().decode("utf-8", "replace"), parser.string()


def _answer(kind: int, body: bytes) -> tuple[Any, tuple[int, str] | None]:
    """The result of a reply, or the status (code, message) that is its error."""
    parser = _Parser(body)
    if kind == _STATUS:
        code = parser.uint32()
        if code == _OK:
            return None, None
        message = parser.string().decode("utf-8", "replace") if parser.at < len(body) else ""
        return None, (code, message)
    if kind == _HANDLE:
        return parser.string(), None
    if kind == _ATTRS:
        return parser.attrs(), None
    if kind == _NAME:
        entries = []
        for _ in range(parser.uint32()):
            name = parser.string().decode("utf-8", "surrogateescape")
            parser.string()  # the long name, as ls -l would show it
            entries.append((name, parser.attrs()))
        return entries, None
    if kind == _EXTENDED_REPLY:
        return body, None
    raise _not_sftp(f"unexpected SFTP message {kind}")


def _status_error(status: tuple[int, str], path: str) -> OSError:
    code, message = status
    if code == _NO_SUCH_FILE:
        return FileNotFoundError(errno.ENOENT, message or "no such file", path)
    if code == _PERMISSION_DENIED:
        return PermissionError(errno.EACCES, message or "permission denied", path)
    if code in (_NO_CONNECTION, _CONNECTION_LOST):
        return _lost(f"the server lost its connection ({message or f'SFTP status {code}'})")
    return OSError(errno.EIO, message or f"SFTP status {code}", path)


def _ssh_error(code: int, stderr: list[str], err: Exception) -> OSError:
    """What ended a session, from ssh's exit status and its last lines on stderr."""
    last = next((line for line in reversed(stderr) if not line.startswith("Warning:")),
                stderr[-1] if stderr else "")
    words = " ".join(stderr).lower()
    if "host key verification failed" in words or "remote host identification" in words:
        return PermissionError(errno.EACCES, f"the server's host key is not trusted ({last}): "
                               "its key is not in ~/.ssh/known_hosts (connect once with "
                               "ssh, or add it with ssh-keyscan)")
    if "permission denied" in words or "too many authentication failures" in words:
        return LoginRefused(errno.EACCES, f"login refused ({last})")
    if "connection refused" in words:
        return ConnectionRefusedError(errno.ECONNREFUSED, last)
    if "timed out" in words:
        return TimeoutError(errno.ETIMEDOUT, last)
    if "subsystem request failed" in words:
        return OSError(errno.EPROTONOSUPPORT, f"the server offers no SFTP ({last})")
    # Final, as asyncssh's socket error for it is: a name that is not there
    # will not be there next time, nor a host or user name ssh rejects.
    if "could not resolve hostname" in words:
        return OSError(errno.EHOSTUNREACH, f"no such host ({last})")
    if "contains invalid characters" in words:
        return OSError(errno.EINVAL, f"ssh refuses the host or user name ({last})")
    if code == 255 or isinstance(err, EOFError):
        if last:
            reason = last
        elif code < 0:
            reason = f"ssh was killed by signal {-code}"
        else:
            reason = f"ssh ended with status {code}"
        return _lost(f"the ssh connection ended ({reason})")
    if isinstance(err, OSError):
        return err
    return _not_sftp(f"{type(err).__name__}: {err}")


def _lost(words: str) -> ConnectionError:
    """A connection that ended, in *words* (no errno: its standard words would replace them)."""
    return ConnectionError(words)


def _not_sftp(what: str) -> OSError:
    """A server that does not speak SFTP: final, not a connection to try again."""
    return OSError(errno.EPROTO, f"not an SFTP server, or one out of step: {what}")


def _copy(error: OSError, path: str) -> OSError:
    """*error* again, naming *path* (each request's failure is its own exception)."""
    if error.errno is None:
        return type(error)(*error.args)
    return type(error)(error.errno, error.strerror, path or None)


def _wait(future: concurrent.futures.Future, timeout: float) -> Any:
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        raise TimeoutError(errno.ETIMEDOUT, f"no answer in {timeout:g} s") from None


def _done(value: Any) -> concurrent.futures.Future:
    future: concurrent.futures.Future = concurrent.futures.Future()
    future.set_result(value)
    return future


def _then(first: concurrent.futures.Future,
          step: Callable[[Any], concurrent.futures.Future]) -> concurrent.futures.Future:
    """A Future of ``step(first.result())``, or of *first*'s error."""
    outcome: concurrent.futures.Future = concurrent.futures.Future()

    def passed(done: concurrent.futures.Future) -> None:
        if done.exception() is not None:
            outcome.set_exception(done.exception())
        else:
            outcome.set_result(done.result())

    def started(done: concurrent.futures.Future) -> None:
        if done.exception() is not None:
            outcome.set_exception(done.exception())
            return
        try:
            step(done.result()).add_done_callback(passed)
        except Exception as err:  # a step that fails to start fails the outcome
            outcome.set_exception(err)

    first.add_done_callback(started)
    return outcome


def _size(attrs: Any) -> int | None:
    return attrs.get("size") if isinstance(attrs, dict) else attrs


def _info(attrs: dict) -> dict:
    mode = attrs.get("permissions")
    if mode is not None and stat.S_ISDIR(mode):
        kind = "directory"
    elif mode is None or stat.S_ISREG(mode):
        kind = "file"
    else:
        kind = "other"
    return {"type": kind, "size": attrs.get("size"), "mtime": attrs.get("mtime"),
            "permissions": mode}
