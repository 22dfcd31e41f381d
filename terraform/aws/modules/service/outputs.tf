output "access_logs_bucket" {
  description = "Bucket of the load balancer access logs (null when they are off)."
  value       = var.enable_access_logs ? local.access_logs_bucket : null
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ECS service ARN."
  value       = aws_ecs_service.this.id
}

output "task_definition_family" {
  description = "Task definition family (one-off tasks such as migrations run its latest revision)."
  value       = aws_ecs_task_definition.this.family
}

output "task_definition_arn" {
  description = "ARN of the current task definition revision."
  value       = aws_ecs_task_definition.this.arn
}

output "container_name" {
  description = "Name of the application container in the task definition."
  value       = local.container_name
}

output "app_security_group_id" {
  description = "Security group of the tasks."
  value       = aws_security_group.app.id
}

output "load_balancer_arn" {
  description = "Load balancer ARN."
  value       = aws_lb.this.arn
}

output "load_balancer_arn_suffix" {
  description = "Load balancer ARN suffix (CloudWatch dimension)."
  value       = aws_lb.this.arn_suffix
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer (point the domain's CNAME/alias here)."
  value       = aws_lb.this.dns_name
}

output "target_group_arn_suffix" {
  description = "Target group ARN suffix (CloudWatch dimension)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "certificate_arn" {
  description = "ACM certificate ARN."
  value       = aws_acm_certificate.this.arn
}

output "certificate_validation_records" {
  description = "DNS records that validate the certificate (create them when DNS is not in Route 53)."
  value = [for o in aws_acm_certificate.this.domain_validation_options : {
    name  = o.resource_record_name
    type  = o.resource_record_type
    value = o.resource_record_value
  }]
}

output "log_group_name" {
  description = "Log group of the application containers."
  value       = aws_cloudwatch_log_group.app.name
}
