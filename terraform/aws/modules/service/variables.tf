variable "name_prefix" {
  description = "Prefix for resource names, e.g. billing-prod (also the cluster, service and task family name)."
  type        = string
}

variable "region" {
  description = "Region, for the awslogs driver."
  type        = string
}

variable "partition" {
  description = "AWS partition for managed policy ARNs."
  type        = string
  default     = "aws"
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "vpc_cidr_block" {
  description = "VPC CIDR; the tasks may reach data store ports inside it."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer (two or more AZs)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks (no public IPs)."
  type        = list(string)
}

variable "data_store_ports" {
  description = "Ports the tasks may open inside the VPC (PostgreSQL, Redis)."
  type        = list(number)
  default     = [5432, 6379]
}

variable "image" {
  description = "Container image of the application (repository:tag or repository@digest)."
  type        = string
}

variable "container_port" {
  description = "Port the application listens on."
  type        = number
  default     = 8000

  validation {
    condition     = var.container_port > 1024 && var.container_port < 65536
    error_message = "container_port must be an unprivileged port (1025-65535)."
  }
}

variable "health_check_path" {
  description = "HTTP path the load balancer probes."
  type        = string
  default     = "/health"
}

variable "task_cpu" {
  description = "Fargate task CPU units."
  type        = number

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be a Fargate CPU size (256 ... 16384)."
  }
}

variable "task_memory" {
  description = "Fargate task memory in MiB (must suit task_cpu)."
  type        = number

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 122880
    error_message = "task_memory must be between 512 and 122880 MiB."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "environment_variables" {
  description = "Plain environment variables of the application container."
  type        = map(string)
  default     = {}
}

variable "secret_arns" {
  description = "Secrets Manager ARNs by environment variable name, injected into the container."
  type        = map(string)
}

variable "secrets_kms_key_arn" {
  description = "KMS key of the secrets (the execution role may decrypt with it)."
  type        = string
}

variable "min_capacity" {
  description = "Minimum (and initial) number of tasks."
  type        = number

  validation {
    condition     = var.min_capacity >= 1
    error_message = "An ECS service behind a load balancer needs min_capacity >= 1."
  }
}

variable "max_capacity" {
  description = "Maximum number of tasks."
  type        = number
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation the autoscaler keeps the service at."
  type        = number
  default     = 60
}

variable "memory_target_percent" {
  description = "Average memory utilisation the autoscaler keeps the service at."
  type        = number
  default     = 70
}

variable "domain_name" {
  description = "Public DNS name of the service (the ACM certificate's subject)."
  type        = string
}

variable "route53_zone_id" {
  description = "Route 53 zone for the certificate's DNS validation records; null when DNS is managed elsewhere."
  type        = string
  default     = null
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "access_logs_bucket" {
  description = "Existing S3 bucket for load balancer access logs (e.g. a log-archive account's); null: the module creates one when enable_access_logs."
  type        = string
  default     = null
}

variable "enable_access_logs" {
  description = "Load balancer access logs, to access_logs_bucket or to a bucket this module creates."
  type        = bool
  default     = true
}

variable "waf_redacted_headers" {
  description = "Request headers replaced by REDACTED in the WAF logs (lowercase)."
  type        = list(string)
  default     = ["authorization", "cookie", "stripe-signature"]

  validation {
    condition     = alltrue([for h in var.waf_redacted_headers : h == lower(h)])
    error_message = "WAF matches single_header names in lowercase."
  }
}

variable "deletion_protection" {
  description = "Deletion protection of the load balancer."
  type        = bool
}

variable "log_retention_days" {
  description = "Retention of the application and WAF log groups."
  type        = number
}

variable "logs_kms_key_arn" {
  description = "KMS key of the log groups."
  type        = string
}

variable "enable_certificate_validation" {
  description = "Wait for the ACM certificate to be issued before creating the HTTPS listener."
  type        = bool
  default     = true
}

variable "enable_autoscaling" {
  description = "Create the Application Auto Scaling target and the CPU/memory target-tracking policies."
  type        = bool
  default     = true
}

variable "enable_deployment_circuit_breaker" {
  description = "Roll back a deployment whose tasks fail to become healthy."
  type        = bool
  default     = true
}

variable "enable_waf" {
  description = "Attach a WAFv2 web ACL (AWS managed common and known-bad-inputs rules) to the load balancer."
  type        = bool
  default     = true
}

variable "enable_tracing" {
  description = "Run the X-Ray daemon next to the application and allow the task to upload traces."
  type        = bool
  default     = true
}

variable "xray_image" {
  description = "Image of the X-Ray daemon sidecar."
  type        = string
  default     = "public.ecr.aws/xray/aws-xray-daemon:3.3.14"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "elasticache_connect_arns" {
  description = "Replication group and Redis user ARNs the task role may connect to with IAM authentication."
  type        = list(string)
  default     = []
}
