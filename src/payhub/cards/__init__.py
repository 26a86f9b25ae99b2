"""Stored-value cards and funds accounts (the card channel and its money)."""
