"""The data store layer: master files, index tables, run lists and file transfer."""
