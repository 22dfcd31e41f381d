output "state_bucket" {
  description = "State bucket name."
  value       = google_storage_bucket.state.name
}
