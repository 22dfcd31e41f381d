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

output "app_username" {
  description = "Application role name (created by a migration run as the master)."
  value       = var.app_username
}

output "master_secret_id" {
  description = "Secret of the master credential (JSON engine/host/port/dbname/username/password)."
  value       = google_secret_manager_secret.credential["master"].id
}

output "app_secret_id" {
  description = "Secret of the application role's credential (JSON)."
  value       = google_secret_manager_secret.credential["app"].id
}
