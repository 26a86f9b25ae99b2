"""The card system's pure rules."""
