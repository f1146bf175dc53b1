"""FITS files at the level of bytes and headers: reading headers without data, HDUs
held as bytes, binary tables written atomically; no index-table semantics here.
"""
