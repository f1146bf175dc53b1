"""The benchmarks of iactcopy: ``make bench`` runs ``benchmarks.run``."""
