"""Card tables and repositories."""
