output "instance_name" {
  description = "Cloud SQL instance name."
  value       = google_sql_database_instance.this.name
}

output "connection_name" {
  description = "Connection name (project:region:instance) for the Cloud SQL connectors."
  value       = google_sql_database_instance.this.connection_name
}

output "private_ip" {
  description = "Private IP address of the instance."
  value       = google_sql_database_instance.this.private_ip_address
}

output "port" {
  description = "PostgreSQL port."
  value       = 5432
}

output "database_name" {
  description = "Application database name."
  value       = google_sql_database.this.name
}

output "username" {
  description = "Application database user."
  value       = google_sql_user.this.name
}

output "password" {
  description = "Password of the application user (sensitive)."
  value       = random_password.user.result
  sensitive   = true
}
