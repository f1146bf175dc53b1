"""The shipped .par files: the system parameter directory of iactcopy."""
