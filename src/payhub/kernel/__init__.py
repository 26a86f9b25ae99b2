"""What every product shares: orders and payments, the ledger, jobs, tenancy and auth, and their storage."""
