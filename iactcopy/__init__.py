"""iactcopy: copy IACT DL3 data stores the ctools way, in plain Python."""

__version__ = "0.1.0"
