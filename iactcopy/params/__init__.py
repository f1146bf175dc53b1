"""The .par parameter engine: syntax, types, modes, command line, lookup and learning."""
