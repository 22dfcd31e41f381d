"""Package data: the dated price table for `billingops cost`."""
