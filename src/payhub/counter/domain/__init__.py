"""What the counter knows: fee types, bills and postings, its orders' facts, shift totals."""
