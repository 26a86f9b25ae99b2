"""Counter bill payment: arrears at the biller, orders of kind biller_posting, receipts, exports."""
