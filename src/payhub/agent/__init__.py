"""The terminal agent: a local service on the counter PC that owns the devices and serves the pages on localhost."""
