# Read by billingops (`terraform output -json`); the names are shared with terraform/gcp where they overlap.

output "environment" {
  description = "Environment name."
  value       = var.environment
}

output "region" {
  description = "AWS region."
  value       = var.region
}

output "service_name" {
  description = "ECS service name."
  value       = module.service.service_name
}

output "ecs_cluster_name" {
  description = "ECS cluster name."
  value       = module.service.cluster_name
}

output "task_definition_family" {
  description = "Task definition family (one-off tasks such as migrations)."
  value       = module.service.task_definition_family
}

output "task_definition_arn" {
  description = "Latest task definition revision terraform registered: rollouts start from it (keeping only the image they deploy), and a serving revision older than it lags terraform."
  value       = module.service.task_definition_arn
}

output "container_name" {
  description = "Application container name in the task definition."
  value       = module.service.container_name
}

output "load_balancer_url" {
  description = "Public HTTPS URL of the API."
  value       = "https://${var.domain_name}"
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer (target of the domain's alias record)."
  value       = module.service.load_balancer_dns_name
}

output "certificate_validation_records" {
  description = "DNS records that validate the ACM certificate."
  value       = module.service.certificate_validation_records
}

output "database_instance" {
  description = "RDS instance identifier."
  value       = module.database.identifier
}

output "database_endpoint" {
  description = "Database host name."
  value       = module.database.address
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
  description = "Database master user name."
  value       = module.database.username
}

output "database_app_username" {
  description = "Role the application connects as (DATABASE_URL); a migration run as the master creates it."
  value       = module.database.app_username
}

output "database_master_secret_id" {
  description = "Secret of the master credential (JSON engine/host/port/dbname/username/password): migrations and migrate-cloud only."
  value       = module.database.master_secret_arn
}

output "database_app_secret_id" {
  description = "Secret of the application role's credential (JSON), read by the migration that creates the role."
  value       = module.database.app_secret_arn
}

output "redis_users" {
  description = "IAM-authenticated Redis user names by purpose (app, ops); empty when enable_cache is false."
  value       = var.enable_cache ? module.cache[0].user_names : {}
}

output "redis_endpoint" {
  description = "Redis primary endpoint host name (empty when enable_cache is false)."
  value       = var.enable_cache ? module.cache[0].primary_endpoint : ""
}

output "redis_port" {
  description = "Redis port."
  value       = var.enable_cache ? module.cache[0].port : 6379
}

output "cache_id" {
  description = "ElastiCache replication group id (empty when enable_cache is false)."
  value       = var.enable_cache ? module.cache[0].replication_group_id : ""
}

output "secret_ids" {
  description = "Secrets Manager ARN by secret name: DATABASE_URL, REDIS_URL and each app secret."
  value       = module.secrets.secret_arns
}

output "image_repository_url" {
  description = "ECR repository URL."
  value       = module.registry.repository_url
}

output "alarm_topic_arn" {
  description = "SNS topic of the critical alerts."
  value       = module.monitoring.alarm_topic_arn
}

output "alert_topic_arns" {
  description = "SNS topic by severity (critical, warning, info)."
  value       = module.monitoring.alert_topic_arns
}

output "private_subnet_ids" {
  description = "Private subnets (for one-off tasks)."
  value       = module.network.private_subnet_ids
}

output "app_security_group_id" {
  description = "Security group of the application tasks (for one-off tasks)."
  value       = module.service.app_security_group_id
}
