"""The counter's side effects: the billers by name."""
