output "key_ids" {
  description = "Crypto key id (projects/P/locations/L/keyRings/R/cryptoKeys/K) by purpose."
  value       = { for k, v in google_kms_crypto_key.this : k => v.id }

  # A resource given a key id must not be created before its service agent may use the key.
  depends_on = [google_kms_crypto_key_iam_member.encrypters]
}

output "key_ring_id" {
  description = "Key ring id."
  value       = google_kms_key_ring.this.id
}
