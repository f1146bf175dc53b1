"""What a copied file holds, checked before it takes its name.

Size and time say a copy is complete, not that it is what it should be.  A
server behind a single-sign-on portal answers a missing file with status 200
and an HTML page; a flaky link or disk can change bytes without changing the
size.  :class:`ContentCheck` looks at each freshly copied ``.part`` file,
before it is renamed onto its target (docs/tools/csiactcopy.rst, "What a
copy is checked for"):

* always: a data file must start as FITS (``SIMPLE  =``) or gzip
  (``1f 8b``); a documentation file (README, LICENSE) must be neither empty
  nor an HTML page;
* with ``verify=True`` besides: a gzip file is decompressed to its end, so
  that the CRC and length of every member are checked; the FITS content
  (decompressed or plain) is walked HDU by HDU, each header to its ``END``
  card and each data part to the size its header declares, in whole
  2880-byte blocks; ``DATASUM`` and ``CHECKSUM`` are checked where a header
  has them.

A file that fails is a failed file (its ``.part`` is removed); :func:`verify_local`
applies the same checks to a local file the plan found up to date.
"""

from __future__ import annotations

import gzip
import os
import stat
import threading
import zlib
from collections.abc import Iterable
from typing import BinaryIO

from iactcopy.store.fits.headers import FitsHeaderError, data_size

__all__ = ["ContentCheck", "ContentError", "check_stream"]

BLOCK = 2880
_GZIP_MAGIC = b"\x1f\x8b"
_FITS_MAGIC = b"SIMPLE  ="
_CARD = 80
_CHUNK = 1 << 20  # bytes read and summed at a time (a multiple of 4, as the sum needs)
_HTML_STARTS = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")


class ContentError(OSError):
    """A copied file does not hold what its name says; the message says why."""


class ContentCheck:
    """Checks a copied file before it is renamed; callable from several threads.

    Parameters
    ----------
    verify : bool
        Check the whole content (gzip CRC, FITS structure, checksums), not
        only its first bytes. Default is False.
    doc_files : iterable of str
        Relative paths of documentation files, which need not be FITS.

    Attributes
    ----------
    rejected : dict of str to str
        The files that failed, with the reason, in this run.
    """

    def __init__(self, *, verify: bool = False, doc_files: Iterable[str] = ()):
        self.verify = verify
        self.doc_files = frozenset(doc_files)
        self.rejected: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, relpath: str, fd: int, path: str) -> None:
        """Check the file written through *fd* (named *path* in messages).

        The content is read back through the descriptor that wrote it (a
        duplicate, from the start), so no name can be swapped under it.

        Raises
        ------
        ContentError
            When the content is not that of a *relpath* file.
        """
        with open(os.dup(fd), "rb") as stream:
            stream.seek(0)
            why = self.problem(relpath, stream)
        if why is not None:
            with self._lock:
                self.rejected[relpath] = why
            raise ContentError(why)

    def problem(self, relpath: str, stream: BinaryIO) -> str | None:
        """What is wrong with the content of *relpath* read from *stream*, or None."""
        if relpath in self.doc_files:
            return _doc_problem(stream.read(512))
        return check_stream(stream, verify=self.verify)

    def verify_local(self, relpath: str, path: str) -> str | None:
        """What is wrong with the local file *path* of *relpath*, or None (never raises)."""
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                return None
            with open(path, "rb") as stream:
                return self.problem(relpath, stream)
        except OSError as err:
            return f"cannot be read: {err.strerror or err}"


def check_stream(stream: BinaryIO, *, verify: bool) -> str | None:
    """What is wrong with a data file read from *stream* (FITS or gzip'ed FITS), or None."""
    head = stream.read(len(_FITS_MAGIC))
    if not head.startswith(_GZIP_MAGIC) and head != _FITS_MAGIC:
        return (f"neither FITS nor gzip (it starts with {head!r}): not a data file, "
                "maybe a server's error page")
    if not verify:
        return None
    stream.seek(0)
    try:
        if head.startswith(_GZIP_MAGIC):
            with gzip.GzipFile(fileobj=stream, mode="rb") as content:
                problem = _fits_problem(content, gzipped=True)
                # Read to the end: GzipFile checks CRC and length at each member's end.
                while content.read(_CHUNK):
                    pass
                return problem
        return _fits_problem(stream, gzipped=False)
    except (OSError, EOFError, zlib.error) as err:
        return f"the gzip data is damaged: {err}"


def _doc_problem(head: bytes) -> str | None:
    text = head.lstrip().lower()
    if not text:
        return "an empty file, not documentation"
    if text.startswith(_HTML_STARTS):
        return "an HTML page, not documentation (maybe a server's error page)"
    return None


def _fits_problem(stream: BinaryIO, *, gzipped: bool) -> str | None:
    """Walk the HDUs of *stream*; return what breaks the FITS structure, or None."""
    number = 0
    first = stream.read(BLOCK)
    if not first.startswith(_FITS_MAGIC):
        # A gzip file of something else: its CRC is all there is to check.
        return None if gzipped else "the file does not start with SIMPLE ="
    block = first
    while block:
        if len(block) < BLOCK:
            return f"HDU {number}: the file is not a whole number of {BLOCK}-byte blocks"
        if number and not block.startswith(b"XTENSION="):
            if not block.strip(b"\0 "):
                return _padding_problem(stream)
            return f"HDU {number}: a header must start with XTENSION ="
        try:
            problem = _hdu_problem(stream, block, number)
        except FitsHeaderError as err:
            problem = f"HDU {number}: {err}"
        if problem is not None:
            return problem
        number += 1
        block = stream.read(BLOCK)
    return None


def _padding_problem(stream: BinaryIO) -> str | None:
    # Blocks of zeros after the last HDU are tolerated (as by split_hdus).
    while block := stream.read(BLOCK):
        if block.strip(b"\0 "):
            return "data after the last HDU that is no HDU"
    return None


def _hdu_problem(stream: BinaryIO, block: bytes, number: int) -> str | None:
    # Imported here: a rerun with nothing to do checks no content and must
    # not pay for numpy (iactcopy.store.local.stamp).
    from iactcopy.store.fits.rawhdus import parse_cards

    header_bytes = bytearray()
    while True:
        if len(block) < BLOCK:
            raise FitsHeaderError("a header block is cut short")
        header_bytes += block
        cards = [block[i:i + _CARD] for i in range(0, BLOCK, _CARD)]
        if any(card[:8] == b"END     " for card in cards):
            break
        block = stream.read(BLOCK)
    cards = [bytes(header_bytes[i:i + _CARD]) for i in range(0, len(header_bytes), _CARD)]
    header = parse_cards(cards[:next(n for n, card in enumerate(cards)
                                     if card[:8] == b"END     ")])
    size = data_size(header)
    datasum = 0
    left = size
    while left:
        piece = stream.read(min(left, _CHUNK))
        if not piece:
            return f"HDU {number}: the data is cut short ({size - left} of {size} bytes)"
        if len(piece) % 4:
            return f"HDU {number}: the data is cut short"
        datasum = _add(datasum, _sum(piece))
        left -= len(piece)
    expected = header.get("DATASUM")
    if isinstance(expected, str) and expected.strip():
        try:
            wanted = int(expected)
        except ValueError:
            return f"HDU {number}: DATASUM {expected!r} is not a number"
        if wanted != datasum:
            return f"HDU {number}: DATASUM is {wanted}, the data sums to {datasum}"
    checksum = header.get("CHECKSUM")
    if isinstance(checksum, str) and checksum.strip("0 "):
        total = _add(_sum(bytes(header_bytes)), datasum)
        if total != 0xFFFFFFFF:
            return f"HDU {number}: the CHECKSUM does not match the header and data"
    return None


def _sum(data: bytes) -> int:
    """The 32-bit ones' complement sum of *data* (a multiple of 4 bytes)."""
    import numpy as np

    words = np.frombuffer(data, dtype=">u4")
    return _add(0, int(words.sum(dtype=np.uint64)) if len(words) else 0)


def _add(left: int, right: int) -> int:
    total = left + right
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total
