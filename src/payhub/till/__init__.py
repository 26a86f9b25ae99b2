"""The shop cashier plugin's server side: orders of kind retail."""
