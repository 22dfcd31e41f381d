output "secret_arns" {
  description = "Secret ARN by name (managed and app secrets)."
  value       = { for k, v in aws_secretsmanager_secret.this : k => v.arn }
}
