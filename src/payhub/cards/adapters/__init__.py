"""The card system's storage and its payment channel."""
