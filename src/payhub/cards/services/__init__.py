"""The card system's use cases."""
