"""The counter's HTTP routes."""
