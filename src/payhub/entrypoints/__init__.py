"""Ways in: the HTTP API, the command line and the worker."""
