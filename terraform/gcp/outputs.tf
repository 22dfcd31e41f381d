# Read by billingops (`terraform output -json`); the names are shared with terraform/aws where they overlap.

output "environment" {
  description = "Environment name."
  value       = var.environment
}

output "region" {
  description = "GCP region."
  value       = var.region
}

output "project_id" {
  description = "GCP project id."
  value       = var.project_id
}

output "service_name" {
  description = "Cloud Run service name."
  value       = module.service.service_name
}

output "service_url" {
  description = "run.app URL of the Cloud Run service: ingress refuses requests from outside Google (load balancer only), so it is not the health URL (load_balancer_url is)."
  value       = module.service.service_url
}

output "load_balancer_url" {
  description = "Public HTTPS URL of the API."
  value       = "https://${var.domain_name}"
}

output "load_balancer_ip" {
  description = "Global IP of the load balancer (the domain's A record)."
  value       = module.service.load_balancer_ip
}

output "database_instance" {
  description = "Cloud SQL instance name."
  value       = module.database.instance_name
}

output "database_connection_name" {
  description = "Cloud SQL connection name (project:region:instance)."
  value       = module.database.connection_name
}

output "database_endpoint" {
  description = "Private IP of the Cloud SQL instance."
  value       = module.database.private_ip
}

output "database_port" {
  description = "Database port."
  value       = module.database.port
}

output "database_name" {
  description = "Application database name."
  value       = module.database.database_name
}

output "database_username" {
  description = "Application database user."
  value       = module.database.username
}

output "redis_endpoint" {
  description = "Private IP of the Memorystore primary endpoint."
  value       = module.cache.host
}

output "redis_port" {
  description = "Memorystore port (6378 with transit encryption)."
  value       = module.cache.port
}

output "cache_id" {
  description = "Memorystore instance id."
  value       = module.cache.instance_id
}

output "secret_ids" {
  description = "Secret resource id (projects/P/secrets/S) by secret name: DATABASE_URL, REDIS_URL and each app secret."
  value       = module.secrets.secret_ids
}

output "image_repository_url" {
  description = "Artifact Registry Docker repository URL."
  value       = module.registry.repository_url
}

output "database_app_username" {
  description = "Role the application connects as (DATABASE_URL); a migration run as the master creates it."
  value       = module.database.app_username
}

output "database_master_secret_id" {
  description = "Secret of the master credential (JSON): migrations and migrate-cloud only."
  value       = module.database.master_secret_id
}

output "database_app_secret_id" {
  description = "Secret of the application role's credential (JSON), read by the migration that creates the role."
  value       = module.database.app_secret_id
}

output "candidate_url" {
  description = "Load balancer URL of the rollout's candidate revision (https://<domain>/__candidate), or \"\" without candidate_source_ranges."
  value       = module.service.candidate_url
}

