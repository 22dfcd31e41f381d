output "resource_id" {
  description = "Full instance name projects/P/locations/R/instances/I (the redis_instance metrics' instance_id label)."
  value       = google_redis_instance.this.id
}

output "instance_id" {
  description = "Memorystore instance id (name)."
  value       = google_redis_instance.this.name
}

output "host" {
  description = "Private IP of the primary endpoint."
  value       = google_redis_instance.this.host
}

output "port" {
  description = "Port (6378 with transit encryption)."
  value       = google_redis_instance.this.port
}

output "server_ca_certs" {
  description = "CA certificates that sign the server's TLS certificate (clients verify against them)."
  value       = [for c in google_redis_instance.this.server_ca_certs : c.cert]
}
