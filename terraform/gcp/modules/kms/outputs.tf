output "key_ids" {
  description = "Crypto key id (projects/P/locations/L/keyRings/R/cryptoKeys/K) by purpose."
  value       = { for k, v in google_kms_crypto_key.this : k => v.id }
}

output "key_ring_id" {
  description = "Key ring id."
  value       = google_kms_key_ring.this.id
}
