"""FITS files held as bytes, one HDU at a time: what lets a copied index be the remote's.

A local index must be what the remote gives (docs/differences.rst, "Faithful
indexes"): the same header cards in the same order with the same comments,
the same primary HDU, the same column formats.  A FITS writer rebuilds all of
that from values, so the index tables are kept here as the bytes that were
read: the header cards as written and the table rows as fixed-width records.
Selecting or merging rows then means picking records, and writing means the
original header with a new ``NAXIS2`` (and, where the file has them, fresh
``DATASUM``/``CHECKSUM`` cards) followed by those records.

This module imports no FITS library; numpy is only used to hold the records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iactcopy.store.fits.headers import FitsHeaderError, HeaderValue, data_size, parse_card_value

__all__ = ["BLOCK", "RawHDU", "RawRows", "padded", "split_hdus"]

BLOCK = 2880
_CARD = 80
#: The keywords that define how a column's bytes are laid out: rows of two
#: tables whose columns agree on all of them can be mixed byte for byte.
_LAYOUT_KEYWORDS = ("TTYPE", "TFORM", "TSCAL", "TZERO", "TNULL", "TDIM", "TBCOL")

Header = dict[str, HeaderValue]


@dataclass(frozen=True)
class RawHDU:
    """One HDU of a FITS file: its header blocks and its data blocks, as read.

    Attributes
    ----------
    header_bytes : bytes
        The header, up to and including the block with ``END``.
    data : bytes
        The data blocks, padding included (empty for a header-only HDU).
    """

    header_bytes: bytes
    data: bytes

    @property
    def cards(self) -> list[bytes]:
        """The 80-byte cards of the header, ``END`` excluded."""
        cards = [self.header_bytes[i:i + _CARD] for i in range(0, len(self.header_bytes), _CARD)]
        end = next(n for n, card in enumerate(cards) if card[:8].rstrip() == b"END")
        return cards[:end]

    @property
    def header(self) -> Header:
        """Keyword to value (the first of a repeated keyword; commentary cards left out)."""
        return parse_cards(self.cards)

    @property
    def is_table(self) -> bool:
        """Whether this is a binary or ASCII table extension."""
        return str(self.header.get("XTENSION", "")).strip() in ("BINTABLE", "TABLE")

    def to_bytes(self) -> bytes:
        """The HDU exactly as it was read."""
        return self.header_bytes + self.data


@dataclass(frozen=True)
class RawRows:
    """The rows of a table as fixed-width records, with the header they came under.

    Attributes
    ----------
    cards : list of bytes
        The table's header cards as written (``END`` excluded).
    records : numpy.ndarray
        One ``numpy.void`` record of ``NAXIS1`` bytes per row.
    layout : tuple
        ``NAXIS1`` and the keywords of :data:`_LAYOUT_KEYWORDS` of each
        column: equal layouts mean the records of one table are rows of the
        other.
    fill : bytes
        What pads the data to whole blocks: NUL for a binary table, a blank
        for an ASCII table.
    heap : bytes
        The heap of variable-length columns (empty without one), kept whole:
        rows point into it by offsets from its start, which stay true
        whichever rows are kept.
    """

    cards: list[bytes]
    records: np.ndarray
    layout: tuple
    fill: bytes = b"\0"
    heap: bytes = b""

    @classmethod
    def of(cls, hdu: RawHDU) -> RawRows | None:
        """The rows of a table HDU; None for an HDU that is no table or has no rows to pick."""
        header = hdu.header
        xtension = str(header.get("XTENSION", "")).strip()
        width, count = int(header.get("NAXIS1", 0) or 0), int(header.get("NAXIS2", 0) or 0)
        if xtension not in ("BINTABLE", "TABLE") or width <= 0:
            return None
        records = np.frombuffer(hdu.data, dtype=f"V{width}", count=count)
        heap = b""
        pcount = int(header.get("PCOUNT", 0) or 0)
        if pcount:
            start = int(header.get("THEAP", width * count) or 0)
            heap = hdu.data[start:width * count + pcount]
        return cls(hdu.cards, records, table_layout(header),
                   b" " if xtension == "TABLE" else b"\0", heap)

    def select(self, rows: np.ndarray) -> RawRows:
        """The records picked by an index array or boolean mask."""
        return self.with_records(self.records[rows])

    def with_records(self, records: np.ndarray) -> RawRows:
        """The same header (and heap) over other records of the same layout."""
        return RawRows(self.cards, records, self.layout, self.fill, self.heap)

    def render(self) -> bytes:
        """The HDU: the header as written, with its sizes and checksums made true, and the rows."""
        rows = self.records.tobytes()
        data = padded(rows + self.heap, self.fill if not self.heap else b"\0")
        sizes = {b"NAXIS2  ": len(self.records), b"PCOUNT  ": len(self.heap),
                 b"THEAP   ": len(rows)}
        cards = [_with_integer(card, sizes[card[:8]]) if card[:8] in sizes else card
                 for card in self.cards]
        names = {card[:8].rstrip() for card in cards}
        if b"DATASUM" in names or b"CHECKSUM" in names:
            cards = _with_checksums(cards, data)
        return _header_bytes(cards) + data


def table_layout(header: Header) -> tuple:
    """What decides the bytes of a table's rows: ``NAXIS1`` and each column's layout keywords."""
    count = int(header.get("TFIELDS", 0) or 0)
    columns = tuple(tuple(_normal(header.get(f"{key}{n}")) for key in _LAYOUT_KEYWORDS)
                    for n in range(1, count + 1))
    return (header.get("NAXIS1"), columns)


def split_hdus(content: bytes) -> list[RawHDU]:
    """The HDUs of a whole (uncompressed) FITS file, in order.

    Raises
    ------
    FitsHeaderError
        When the bytes are not FITS or a header or data part is cut short.
    """
    if not content.startswith(b"SIMPLE  ="):
        raise FitsHeaderError("the file does not start with SIMPLE =")
    hdus, position = [], 0
    while position < len(content):
        end = _header_end(content, position)
        header = parse_cards([content[i:i + _CARD] for i in range(position, end, _CARD)])
        size = data_size(header)
        if end + size > len(content):
            raise FitsHeaderError(f"HDU {len(hdus)}: the data is cut short")
        hdus.append(RawHDU(content[position:end], content[end:end + size]))
        position = end + size
        if not content.startswith(b"XTENSION=", position):
            break  # padding or bytes a tool left after the last HDU: FITS readers ignore them
    return hdus


def parse_cards(cards: list[bytes]) -> Header:
    """Keyword to value of header cards; the first of a repeated keyword wins."""
    header: Header = {}
    for card in cards:
        keyword = card[:8].decode("ascii", "replace").strip()
        if card[8:10] == b"= " and keyword not in header:
            header[keyword] = parse_card_value(card[10:].decode("ascii", "replace"))
    return header


def padded(data: bytes, fill: bytes) -> bytes:
    """*data* filled up to whole FITS blocks with *fill* (one byte)."""
    return data + fill * (-len(data) % BLOCK)


def _header_end(content: bytes, start: int) -> int:
    position = start
    while True:
        block = content[position:position + BLOCK]
        if len(block) < BLOCK:
            raise FitsHeaderError("a header block is cut short")
        for offset in range(0, BLOCK, _CARD):
            if block[offset:offset + 8] == b"END     ":
                return position + BLOCK
        position += BLOCK


def _header_bytes(cards: list[bytes]) -> bytes:
    return padded(b"".join(cards) + b"END".ljust(_CARD), b" ")


def _normal(value: HeaderValue) -> HeaderValue:
    return value.strip().upper() if isinstance(value, str) else value


def _with_integer(card: bytes, value: int) -> bytes:
    """An integer card with a new value, its comment kept.

    A card in fixed format (value right-justified in columns 11 to 30) keeps
    every other byte; a free-format one is written again in fixed format.
    """
    text = card[10:].decode("ascii", "replace")
    fixed = card[10:30].strip().lstrip(b"+-").isdigit() and card[30:32] in (b" /", b"  ")
    if fixed:
        rest = card[30:]
    else:
        comment = text.split("/", 1)[1].strip() if "/" in text else ""
        rest = f" / {comment}".encode("ascii", "replace") if comment else b""
    return (card[:10] + str(value).rjust(20).encode("ascii") + rest).ljust(_CARD)[:_CARD]


def _with_string(card: bytes, text: str) -> bytes:
    """A card whose quoted string value is replaced by *text* (same width), comment kept."""
    # A FITS string value is at least 8 characters between its quotes.
    value = f"'{text:<8}'".ljust(20).encode("ascii")
    return (card[:10] + value + card[10 + len(value):]).ljust(_CARD)[:_CARD]


def _with_checksums(cards: list[bytes], data: bytes) -> list[bytes]:
    """The cards with ``DATASUM`` and ``CHECKSUM`` (those present) computed for *data*.

    The FITS checksum convention: ``DATASUM`` is the 32-bit ones' complement
    sum of the data as text, and ``CHECKSUM`` the encoded complement of the
    sum of the whole HDU, so that the HDU then sums to -0.
    """
    datasum = _ones_complement_sum(data)
    cards = [_with_string(card, str(datasum)) if card[:8] == b"DATASUM " else card
             for card in cards]
    if not any(card[:8] == b"CHECKSUM" for card in cards):
        return cards
    cards = [_with_string(card, "0" * 16) if card[:8] == b"CHECKSUM" else card for card in cards]
    total = _add(_ones_complement_sum(_header_bytes(cards)), datasum)
    encoded = _encode_checksum(~total & 0xFFFFFFFF)
    return [_with_string(card, encoded) if card[:8] == b"CHECKSUM" else card for card in cards]


def _ones_complement_sum(data: bytes) -> int:
    words = np.frombuffer(data, dtype=">u4").astype(np.uint64)
    total = int(words.sum()) if len(words) else 0
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def _add(left: int, right: int) -> int:
    total = left + right
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


# ASCII punctuation between the digits and letters, which an encoded checksum avoids.
_EXCLUDED = frozenset(b":;<=>?@[\\]^_`")


def _encode_checksum(value: int) -> str:
    """The 16-character ASCII encoding of a 32-bit checksum (the FITS convention)."""
    encoded = [0] * 16
    for byte_number in range(4):
        byte = (value >> (24 - 8 * byte_number)) & 0xFF
        quotient, remainder = byte // 4 + 0x30, byte % 4
        chars = [quotient + remainder, quotient, quotient, quotient]
        moved = True
        while moved:
            moved = False
            for k in (0, 2):
                if chars[k] in _EXCLUDED or chars[k + 1] in _EXCLUDED:
                    chars[k] += 1
                    chars[k + 1] -= 1
                    moved = True
        for j in range(4):
            encoded[4 * j + byte_number] = chars[j]
    # The encoding is rotated one place right, so the sum falls on a 32-bit word.
    return bytes(encoded[15:] + encoded[:15]).decode("ascii")
