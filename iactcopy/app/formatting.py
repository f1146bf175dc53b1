"""Text layout of the ctools-style log, as pure functions.

Everything here turns values into the strings that :mod:`iactcopy.app.logger`
writes: the dotted value labels (``parformat``), padding helpers, the header
frames, the banner box and the trailer line.  Nothing here touches a file or
the clock (``timestamp`` takes the time as an argument when a test needs a
fixed one), so each rule of docs/log.rst can be tested on its own.

Widths count **characters** (``len`` of a ``str``), not UTF-8 bytes as in the
reference (docs/differences.rst, "Honest figures and widths"), so a name with non-ASCII letters
keeps the dots and frames aligned.  For ASCII text the two agree, and the
output is byte for byte that of ctools.
"""

from __future__ import annotations

import time

__all__ = [
    "BANNER_WIDTH",
    "CARBON_G_PER_CPU_HOUR",
    "banner_lines",
    "centre",
    "fill",
    "format_value",
    "header_lines",
    "left",
    "number",
    "parformat",
    "right",
    "timestamp",
    "trailer_line",
    "value_line",
]

BANNER_WIDTH = 80
"""Width of every line of the banner box (docs/log.rst)."""

CARBON_G_PER_CPU_HOUR = 4.68
"""Grams of eCO2 per hour of CPU time: the fixed factor of docs/log.rst

The reference refines it by a country looked up over the network, with no
timeout (docs/differences.rst, "No hidden side effects"); iactcopy never goes
on the network for a log line.
"""

_PARFORMAT_WIDTH = 26
_HEADER_STYLES = (1, 2, 3)


def fill(text: str, count: int) -> str:
    """Repeat a string.

    Parameters
    ----------
    text : str
        The string to repeat.
    count : int
        How many times; zero or less gives the empty string.

    Returns
    -------
    str

    Examples
    --------
    >>> fill("-", 5)
    '-----'
    """
    return text * max(0, count)


def left(text: str, width: int, char: str = " ") -> str:
    """Pad a string on the right to ``width`` characters (left-justify it).

    Parameters
    ----------
    text : str
        The string; it is never cut when it is longer than ``width``.
    width : int
        The width to reach.
    char : str, optional
        The padding character. Default is a blank.

    Returns
    -------
    str
    """
    return text + fill(char, width - len(text))


def right(text: str, width: int, char: str = " ") -> str:
    """Pad a string on the left to ``width`` characters (right-justify it).

    Parameters
    ----------
    text : str
        The string; it is never cut when it is longer than ``width``.
    width : int
        The width to reach.
    char : str, optional
        The padding character. Default is a blank.

    Returns
    -------
    str
    """
    return fill(char, width - len(text)) + text


def centre(text: str, width: int, char: str = " ") -> str:
    """Centre a string in ``width`` characters.

    When the padding cannot be split evenly, the extra character goes to the
    **left**, as in the reference (docs/log.rst): a 9-character name
    in 78 columns gets 35 blanks before it and 34 after.

    Parameters
    ----------
    text : str
        The string; it is never cut when it is longer than ``width``.
    width : int
        The width to reach.
    char : str, optional
        The padding character. Default is a blank.

    Returns
    -------
    str

    Examples
    --------
    >>> centre("ab", 5, ".")
    '..ab.'
    """
    padding = max(0, width - len(text))
    after = padding // 2
    return fill(char, padding - after) + text + fill(char, after)


def number(noun: str, count: int) -> str:
    """Give the plural of ``noun`` unless ``count`` is one.

    Parameters
    ----------
    noun : str
        A singular noun that takes an ``s`` in the plural.
    count : int
        How many there are; the count itself is not shown.

    Returns
    -------
    str

    Examples
    --------
    >>> number("Observation", 1), number("Observation", 0)
    ('Observation', 'Observations')
    """
    return noun if count == 1 else noun + "s"


def parformat(name: str, indent: int = 0) -> str:
    """Format the label of a value line.

    The label is a blank, the name, a blank, dots, and ``": "``, so that the
    colon is in column 29 and the value starts in column 31 for names of up
    to 26 characters (docs/log.rst). Longer names are never cut; they
    get no dots.

    Parameters
    ----------
    name : str
        The label text.
    indent : int, optional
        Characters by which the caller has already indented the line; the
        dots are shortened by as many. Default is 0.

    Returns
    -------
    str

    Examples
    --------
    >>> parformat("Name")
    ' Name ......................: '
    """
    dots = max(0, _PARFORMAT_WIDTH - len(name) - indent)
    return f" {name} {fill('.', dots)}: "


def format_value(value: object) -> str:
    """Turn a value into text the way ``_log_value`` does: Python's ``str()``.

    This differs on purpose from the ``%g`` numbers of the trailer and from
    the ``yes``/``no`` of the parameter dump (docs/log.rst): ``True``
    stays ``True``, ``1e-05`` stays ``1e-05``, ``100.0`` stays ``100.0`` and
    ``None`` is ``None``. Keeping the rule in one function lets the logger
    and its tests agree on it.

    Parameters
    ----------
    value : object
        Any value.

    Returns
    -------
    str
    """
    return str(value)


def value_line(name: str, value: object, unit: object = None) -> str:
    """Format one value line, without the line feed.

    Parameters
    ----------
    name : str
        The label, formatted by :func:`parformat`.
    value : object
        The value, formatted by :func:`format_value`.
    unit : object, optional
        Appended after a blank when it is not ``None``. Default is ``None``.
        Unlike the reference, leaving the unit out leaves no trailing blank
        (ctools wrote ``" " + unit``); an explicit ``""`` still gives one, as ctools does.

    Returns
    -------
    str

    Examples
    --------
    >>> value_line("Size", 0.41, "MB")
    ' Size ......................: 0.41 MB'
    """
    text = parformat(str(name)) + format_value(value)
    if unit is not None:
        text += " " + str(unit)
    return text


def timestamp(t: float | None = None) -> str:
    """Format a time as the UTC prefix of log lines, ``YYYY-MM-DDThh:mm:ss``.

    Parameters
    ----------
    t : float, optional
        Seconds since the epoch, as :func:`time.time` returns them. Default
        is now. Fractions of a second are dropped, not rounded, so a line
        never carries a time later than the moment it was written.

    Returns
    -------
    str

    Examples
    --------
    >>> timestamp(0)
    '1970-01-01T00:00:00'
    """
    utc = time.gmtime(time.time() if t is None else t)
    # Explicit widths rather than strftime: %Y does not pad years below 1000
    # on every platform, and the format promises four digits.
    return (
        f"{utc.tm_year:04d}-{utc.tm_mon:02d}-{utc.tm_mday:02d}"
        f"T{utc.tm_hour:02d}:{utc.tm_min:02d}:{utc.tm_sec:02d}"
    )


def header_lines(text: str, style: int) -> list[str]:
    """Give the lines of a header frame (docs/log.rst).

    Parameters
    ----------
    text : str
        The header text.
    style : {1, 2, 3}
        1 gives a frame of ``=``, 2 a frame of ``-`` (three lines each), and
        3 the single line ``=== text ===``.

    Returns
    -------
    list of str
        The lines, without line feeds.

    Raises
    ------
    ValueError
        If ``style`` is not one of 1, 2 or 3. (The reference's ``header0``
        writes nothing at all, so it is not offered.)

    Examples
    --------
    >>> header_lines("Summary", 2)
    ['+---------+', '| Summary |', '+---------+']
    """
    if style == 3:
        return [f"=== {text} ==="]
    if style in (1, 2):
        frame = "+" + fill("=" if style == 1 else "-", len(text) + 2) + "+"
        return [frame, f"| {text} |", frame]
    raise ValueError(f"header style must be one of {_HEADER_STYLES}, not {style!r}")


def banner_lines(name: str, version: str, product: str = "iactcopy") -> list[str]:
    """Give the lines of the box that opens a log file.

    The box follows the reference's five lines (docs/log.rst) and
    adds a sixth naming the package, so that the banner names the package
    (iactcopy, or the package of a tool of one's own), the tool and the
    version (docs/differences.rst, "Log format")::

        ********************************************************************************
        *                                  csiactdata                                  *
        * ---------------------------------------------------------------------------- *
        * Version: 0.1.0                                                               *
        * Package: iactcopy                                                            *
        ********************************************************************************

    The ``Version:`` line is kept exactly as ctools writes it, so anything
    that looks for it in a ctools log finds it here too.

    Parameters
    ----------
    name : str
        The tool name, centred on line 2.
    version : str
        The version string.
    product : str, optional
        The package named on line 5. Default is ``"iactcopy"``.

    Returns
    -------
    list of str
        Six lines, without line feeds. Each is 80 characters wide as long as
        ``name`` fits in 78 and ``version`` and ``product`` in 68; longer
        texts are not cut (as in ctools) and widen their line.
    """
    inner = BANNER_WIDTH - 2
    field = inner - len(" Version: ")
    stars = fill("*", BANNER_WIDTH)
    return [
        stars,
        "*" + centre(name, inner) + "*",
        "* " + fill("-", inner - 2) + " *",
        "* Version: " + left(version, field) + "*",
        "* Package: " + left(product, field) + "*",
        stars,
    ]


def trailer_line(name: str, wall_seconds: float, cpu_seconds: float) -> str:
    """Give the line that closes a log file (docs/log.rst).

    Parameters
    ----------
    name : str
        The tool name.
    wall_seconds : float
        Wall-clock seconds since the application started. The reference
        counts whole seconds; iactcopy rounds to milliseconds and
        prints ``%g`` of that (``0``, ``0.042``, ``11.5``, ``3910.25``,
        ``1.23457e+06``), so a run of a whole second is still printed ``1``.
        A negative time (the clock was set back) counts as 0.
    cpu_seconds : float
        CPU seconds used, printed with ``%g``. The carbon footprint is
        ``4.68 * cpu_seconds / 3600`` grams, also printed with ``%g``.

    Returns
    -------
    str
        The line, without line feed. Suffixes are added, in this order, when
        the footprint is at least 1000 g, when the printed wall time is below
        0.1 s, and when it is above one day.

    Examples
    --------
    >>> trailer_line("csiactdata", 0.02, 0.01234).split("footprint of ")[1]
    '1.6042e-05 g eCO2. This was rather quick and economic!'
    """
    wall = max(0.0, round(float(wall_seconds), 3))
    carbon = CARBON_G_PER_CPU_HOUR * cpu_seconds / 3600.0
    text = (
        f'Application "{name}" terminated after {wall:g} wall clock seconds, '
        f"consuming {cpu_seconds:g} seconds of CPU time and generating a carbon "
        f"footprint of {carbon:g} g eCO2."
    )
    if carbon >= 1000:
        text += " Please watch your carbon footprint."
    if wall < 0.1:
        text += " This was rather quick and economic!"
    if wall > 86400:
        text += " Hope it was worth waiting ..."
    return text
