"""billingops: the operations runbook CLI for the Modern Subscription Billing Platform."""

__version__ = "0.1.0"
