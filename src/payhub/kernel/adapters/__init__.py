"""The kernel's side effects: the database, clock, security, signals, observability."""
