"""Use cases, one module per feature. They import the domain and the ports, never adapters."""
