"""Pure domain model: value objects and aggregates with their state machines. Imports nothing of ours."""
