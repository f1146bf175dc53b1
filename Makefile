# The two commands of the README: `make demo` and `make test`.  Both build the
# virtual environment first, so a fresh machine with only python3 needs nothing else.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: all venv sysdeps demo test lint bench docs clean

all: test

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

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

# Byte-compiled first, as pip does when it installs a wheel: start-up time is
# part of what is measured, and PYTHONDONTWRITEBYTECODE may be set.
bench: $(STAMP) sysdeps
	$(BIN)/python -m compileall -q iactcopy
	$(BIN)/python -m benchmarks.run

docs: $(STAMP)
	$(BIN)/sphinx-build -W -q -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build demo bench-work
