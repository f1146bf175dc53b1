"""The command-line tools: csiactdata, csiactcopy, csfindobs and iactpar."""
