"""The terminal agent's use cases: print jobs and device watching."""
