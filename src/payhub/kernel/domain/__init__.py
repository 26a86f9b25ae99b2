"""The kernel's pure rules: orders, payments, refunds, fulfilment, the ledger, jobs, tenancy."""
