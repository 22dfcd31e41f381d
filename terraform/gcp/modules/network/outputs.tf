output "network_id" {
  description = "VPC network id."
  value       = google_compute_network.this.id
}

output "network_self_link" {
  description = "VPC network self link."
  value       = google_compute_network.this.self_link
}

output "subnet_id" {
  description = "Subnet id."
  value       = google_compute_subnetwork.this.id
}

output "private_services_connection" {
  description = "The private services access connection (data stores depend on it)."
  value       = google_service_networking_connection.this.id
}
