"""Tooling for tests, benchmarks and ``make demo``: synthetic data stores.

Nothing in the tools imports this package; it ships so that the demo and
the benchmarks run from an installed iactcopy.
"""
