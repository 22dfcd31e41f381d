output "replication_group_id" {
  description = "Replication group id."
  value       = aws_elasticache_replication_group.this.id
}

output "primary_endpoint" {
  description = "Host name of the primary endpoint."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.this.port
}

output "arn" {
  description = "Replication group ARN (resource of elasticache:Connect)."
  value       = aws_elasticache_replication_group.this.arn
}

output "user_names" {
  description = "IAM-authenticated Redis user names by purpose (app, ops)."
  value       = { for k, u in aws_elasticache_user.iam : k => u.user_name }
}

output "user_arns" {
  description = "Redis user ARNs by purpose (app, ops), resources of elasticache:Connect."
  value       = { for k, u in aws_elasticache_user.iam : k => u.arn }
}

output "redis_url" {
  description = "rediss:// URL of the application user; it carries no secret (the password is an IAM token)."
  value       = format("rediss://%s@%s:%d/0", aws_elasticache_user.iam["app"].user_name, aws_elasticache_replication_group.this.primary_endpoint_address, aws_elasticache_replication_group.this.port)
}

output "security_group_id" {
  description = "Security group of the cache."
  value       = aws_security_group.this.id
}
