"""Cloud adapters. Each capability has a protocol in its own module here (secrets.py, rollout.py,
database.py, status.py) and one adapter per cloud under aws/ and gcp/. SDKs are imported inside the
adapters and factories only, so `billingops --help` never pays for them."""
