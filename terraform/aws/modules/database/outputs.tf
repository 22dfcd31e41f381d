output "identifier" {
  description = "RDS instance identifier."
  value       = aws_db_instance.this.identifier
}

output "arn" {
  description = "RDS instance ARN."
  value       = aws_db_instance.this.arn
}

output "address" {
  description = "Host name of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the instance."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Application database name."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Master user name."
  value       = aws_db_instance.this.username
}

output "app_username" {
  description = "Application role name (created by a migration run as the master)."
  value       = var.app_username
}

output "app_secret_arn" {
  description = "Secret holding the application role's credential as JSON {engine, host, port, dbname, username, password}."
  value       = aws_secretsmanager_secret.app.arn
}

output "master_secret_arn" {
  description = "Secret holding the master credential as JSON {engine, host, port, dbname, username, password}."
  value       = aws_secretsmanager_secret.master.arn
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.this.id
}

output "allocated_storage" {
  description = "Allocated storage in GiB (for the storage alarm)."
  value       = aws_db_instance.this.allocated_storage
}
