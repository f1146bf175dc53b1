"""The application layer: the ctools log, the application base class, the entry points."""
