"""A bound on the memory an index file may take, checked before its rows are read.

An index file is read whole into memory (:mod:`iactcopy.store.index.files`),
and a gzip'ed file can be tiny for its content: 0.9 MB of compressed zeros
declare 4 million rows and take gigabytes once read.  An index whose HDUs
declare more than :data:`MAX_INDEX_BYTES` of data is declined with one line,
before it is decompressed (the declared ``NAXIS1`` times ``NAXIS2`` of its
headers is looked at first), and no file is ever decompressed beyond that
bound.  docs/differences.rst ("Memory for index files") states the bound.
"""

from __future__ import annotations

import zlib

from iactcopy.errors import IndexTableError
from iactcopy.store.fits.headers import data_size
from iactcopy.store.fits.rawhdus import BLOCK, parse_cards

__all__ = ["MAX_INDEX_BYTES", "bounded_content", "check_size"]

MAX_INDEX_BYTES = 256 * 2**20
"""The most bytes of FITS content (256 MiB, about a million HDU rows) an index file may hold."""

_GZIP_MAGIC = b"\x1f\x8b"
_FIRST = 1 << 20  # decompressed bytes in which the headers are looked for first
_CARD = 80


def check_size(nbytes: int, path: str) -> None:
    """Decline a file of *nbytes* (uncompressed) above the bound.

    Raises
    ------
    IndexTableError
        When *nbytes* is above :data:`MAX_INDEX_BYTES`.
    """
    if nbytes > MAX_INDEX_BYTES:
        raise IndexTableError(f'Index file "{path}" holds {_mib(nbytes)} of FITS content, '
                              f"more than the {_mib(MAX_INDEX_BYTES)} iactcopy reads from an "
                              "index file.")


def bounded_content(original: bytes, path: str) -> bytes:
    """The FITS content of an index file's bytes, decompressed if gzip'ed, within the bound.

    Raises
    ------
    IndexTableError
        When the headers declare, or the content holds, more than
        :data:`MAX_INDEX_BYTES`; when the gzip data is damaged.
    """
    if not original.startswith(_GZIP_MAGIC):
        _check_declared(original, path)
        check_size(len(original), path)
        return original
    try:
        _check_declared(_gunzip(original, _FIRST), path)
        content = _gunzip(original, MAX_INDEX_BYTES + 1)
    except (EOFError, zlib.error) as err:
        raise IndexTableError(f'Index file "{path}" cannot be opened as FITS: the gzip data '
                              f"is damaged ({err}).") from err
    check_size(len(content), path)
    return content


def _gunzip(data: bytes, limit: int) -> bytes:
    """At most *limit* bytes of the content of *data*, all gzip members in turn."""
    pieces, size = [], 0
    while data and size < limit:
        stream = zlib.decompressobj(wbits=31)
        pieces.append(stream.decompress(data, limit - size))
        size += len(pieces[-1])
        if not stream.eof:
            if size < limit:
                raise EOFError("the compressed data ends before its end-of-stream marker")
            break
        data = stream.unused_data.lstrip(b"\0")  # members may be followed by zero padding
    return b"".join(pieces)


def _check_declared(prefix: bytes, path: str) -> None:
    """Decline the file when the headers at its start declare too much data."""
    position, declared = 0, 0
    while position + BLOCK <= len(prefix):
        end = _header_end(prefix, position)
        if end is None:
            return
        header = parse_cards([prefix[i:i + _CARD] for i in range(position, end, _CARD)])
        try:
            size = data_size(header)
        except (TypeError, ValueError):
            return  # a broken header: the FITS reader names it
        declared += size
        if declared > MAX_INDEX_BYTES:
            rows, width = header.get("NAXIS2"), header.get("NAXIS1")
            raise IndexTableError(
                f'Index file "{path}" declares {rows} rows of {width} bytes ({_mib(size)}), '
                f"more than the {_mib(MAX_INDEX_BYTES)} iactcopy reads from an index file.")
        position = end + size


def _header_end(content: bytes, start: int) -> int | None:
    for position in range(start, len(content) - BLOCK + 1, BLOCK):
        block = content[position:position + BLOCK]
        if any(block[k:k + 8] == b"END     " for k in range(0, BLOCK, _CARD)):
            return position + BLOCK
    return None


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.0f} MiB"
