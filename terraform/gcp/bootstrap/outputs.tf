output "state_bucket" {
  description = "State bucket name."
  value       = google_storage_bucket.state.name
}

output "state_kms_keys" {
  description = "Key by environment: kms_encryption_key of ../envs/<env>.backend.hcl."
  value       = { for env in var.environments : env => google_kms_crypto_key.state[env].id }
}
