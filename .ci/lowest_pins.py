"""Print the install requirements of setup.cfg pinned at their lower bounds.

``make test-oldest`` installs the package under these pins, so that the
lowest versions setup.cfg allows are the versions the tests run with.  Each
requirement must have a ``>=`` bound (a requirement without one has no
lowest version to test); the test extra's packages named on the command line
are pinned the same way.

Usage: ``python .ci/lowest_pins.py setup.cfg [PACKAGE_OF_THE_TEST_EXTRA ...]``
"""

from __future__ import annotations

import configparser
import re
import sys

_LOWER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([^\s,;]+)$")


def pins(lines: str, names: set[str] | None = None) -> list[str]:
    """``name==version`` for each requirement of *lines* (those in *names*, if given)."""
    result = []
    for line in lines.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LOWER.match(line)
        name = re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0]
        if names is not None and name not in names:
            continue
        if match is None:
            raise SystemExit(f"lowest_pins: {line!r} has no single '>=' lower bound")
        result.append(f"{match.group(1)}=={match.group(2)}")
    return result


def main(argv: list[str]) -> int:
    config = configparser.ConfigParser()
    config.read(argv[0], encoding="utf-8")
    lines = pins(config["options"]["install_requires"])
    wanted = set(argv[1:])
    extra = pins(config["options.extras_require"]["test"], wanted)
    missing = wanted - {line.split("==")[0] for line in extra}
    if missing:
        raise SystemExit(f"lowest_pins: not in the test extra: {', '.join(sorted(missing))}")
    print("\n".join(lines + extra))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
