# The two commands of the README: `make demo` and `make test`.  Both build the
# virtual environment first, so a fresh machine with only python3 needs nothing else.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: all venv sysdeps demo test test-oldest lint bench docs clean

all: test

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

# The lowest versions setup.cfg allows: every install requirement, and the test
# extra's astropy (the tests read files with it), pinned at its lower bound by
# .ci/lowest_pins.py.  The tests that need other extras skip, with the reason.
OLDEST       := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed-stamp

$(OLDEST_STAMP): setup.cfg pyproject.toml .ci/lowest_pins.py
	rm -rf $(OLDEST)
	$(PYTHON) -m venv $(OLDEST)
	$(PYTHON) .ci/lowest_pins.py setup.cfg astropy > $(OLDEST)/pins.txt
	$(OLDEST)/bin/python -m pip install --quiet -c $(OLDEST)/pins.txt -e . astropy pytest hypothesis
	touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP)
	$(OLDEST)/bin/python -m pytest -q

demo: $(STAMP)
	$(BIN)/python -m iactcopy.demo demo

# System packages for the sftp tests (openssh-server), the root:// tests
# (xrootd-server) and the benchmarks (rsync; sshfs, the reference of the latency
# series), from Debian's packages where apt is there; elsewhere those tests skip.
SYSDEPS := openssh-server rsync sshfs xrootd-server
sysdeps:
	@command -v /usr/sbin/sshd >/dev/null && command -v rsync >/dev/null && \
	  command -v sshfs >/dev/null && command -v /usr/bin/xrootd >/dev/null || \
	  (command -v apt-get >/dev/null && apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSDEPS) >/dev/null) || \
	  echo "warning: $(SYSDEPS) could not all be installed: the sftp or root:// tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check iactcopy tests benchmarks examples

test: $(STAMP) sysdeps lint docs
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-oldest

# Byte-compiled first, as pip does when it installs a wheel: start-up time is
# part of what is measured, and PYTHONDONTWRITEBYTECODE may be set.
bench: $(STAMP) sysdeps
	$(BIN)/python -m compileall -q iactcopy
	$(BIN)/python -m benchmarks.run

docs: $(STAMP)
	$(BIN)/sphinx-build -W -q -b html docs docs/_build/html

clean:
	rm -rf $(VENV) $(OLDEST) build dist *.egg-info docs/_build demo bench-work
