bucket = "billing-platform-terraform-state"
prefix = "staging/state"
# bootstrap output state_kms_keys: the state object is encrypted with this environment's key
kms_encryption_key = "projects/billing-platform-ops/locations/us/keyRings/billing-terraform-state/cryptoKeys/terraform-state-staging"
