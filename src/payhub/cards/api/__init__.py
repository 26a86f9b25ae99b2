"""The card system's HTTP routes."""
