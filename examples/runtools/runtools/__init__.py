"""runtools: a small package of run-list tools written on the iactcopy framework."""

__version__ = "1.2.0"
