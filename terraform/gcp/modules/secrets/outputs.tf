output "secret_ids" {
  description = "Secret resource id (projects/P/secrets/S) by name."
  value       = { for k, v in google_secret_manager_secret.this : k => v.id }
}
