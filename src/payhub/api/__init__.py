"""The terminal and operations HTTP API (FastAPI)."""
