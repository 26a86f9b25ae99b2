"""The counter's use cases."""
