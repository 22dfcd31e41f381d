# --- The environment table of the seed: the same names on AWS and GCP -------------------------------------------

variable "environment" {
  description = "Environment name: prod, staging or dev."
  type        = string

  validation {
    condition     = contains(["prod", "staging", "dev"], var.environment)
    error_message = "environment must be one of prod, staging, dev."
  }
}

variable "multi_az" {
  description = "Highly available across AZs: RDS Multi-AZ, Redis replica with automatic failover, NAT per AZ."
  type        = bool
}

variable "backup_retention_days" {
  description = "Automated database backup and point-in-time recovery retention (also Redis snapshots)."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35."
  }
}

variable "deletion_protection" {
  description = "Protect the database and load balancer from deletion; keeps images on repository deletion."
  type        = bool
}

variable "min_capacity" {
  description = "Minimum number of application tasks (ECS needs at least 1 behind a load balancer)."
  type        = number

  validation {
    condition     = var.min_capacity >= 1 && var.min_capacity <= 100
    error_message = "min_capacity must be between 1 and 100 on AWS."
  }
}

variable "max_capacity" {
  description = "Maximum number of application tasks."
  type        = number

  validation {
    condition     = var.max_capacity >= 1 && var.max_capacity <= 100
    error_message = "max_capacity must be between 1 and 100."
  }
}

# --- Placement and naming ---------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region of the stack."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC (/16)."
  type        = string
  default     = "10.20.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones of the subnets, by name (two or more, in var.region)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must list at least two distinct zones."
  }
}

variable "domain_name" {
  description = "Public DNS name of the API, e.g. billing.example.com (ACM certificate subject)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name such as billing.example.com."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone for the certificate's validation records; null when DNS is managed elsewhere."
  type        = string
  default     = null
}

variable "alert_email" {
  description = "Email subscribed to the alarm topic; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an email address or empty."
  }
}

# --- Application ------------------------------------------------------------------------------------------------

variable "monitoring_level" {
  description = "enhanced (prod: every alarm, info notifications, 15 s enhanced RDS monitoring), basic (staging: every alarm), minimal (dev: critical alarms only)."
  type        = string
  default     = "enhanced"

  validation {
    condition     = contains(["enhanced", "basic", "minimal"], var.monitoring_level)
    error_message = "monitoring_level must be enhanced, basic or minimal."
  }
}

variable "alert_subscriptions" {
  description = "Alert subscriptions by severity (critical: the on-call/PagerDuty endpoint; warning: email or a Slack webhook; info: deployments, scaling, maintenance), each a list of { protocol, endpoint }."
  type = map(list(object({
    protocol = string
    endpoint = string
  })))
  default = {}
}

variable "image" {
  description = "Container image of the application (ECR repository URL with tag or digest)."
  type        = string

  validation {
    condition     = length(var.image) > 0 && !endswith(var.image, ":latest")
    error_message = "image must be set and pinned to a tag or digest other than latest (the repository is immutable)."
  }
}

variable "container_port" {
  description = "Port the application listens on."
  type        = number
  default     = 8000
}

variable "app_secret_names" {
  description = "Application secrets created empty in Secrets Manager and injected into the container; billingops seeds them."
  type        = list(string)
  default     = ["SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"]

  validation {
    condition     = alltrue([for n in var.app_secret_names : can(regex("^[A-Z][A-Z0-9_]*$", n)) && !contains(["DATABASE_URL", "REDIS_URL"], n)])
    error_message = "app_secret_names must be UPPER_SNAKE_CASE and must not repeat DATABASE_URL or REDIS_URL."
  }
}

# --- Sizing -----------------------------------------------------------------------------------------------------

variable "task_cpu" {
  description = "Fargate CPU units per task."
  type        = number
  default     = 512
}

variable "task_memory" {
  description = "Fargate memory (MiB) per task."
  type        = number
  default     = 1024
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t3.medium"
}

variable "db_allocated_storage" {
  description = "Initial database storage in GiB."
  type        = number
  default     = 50
}

variable "db_max_allocated_storage" {
  description = "Database storage autoscaling ceiling in GiB."
  type        = number
  default     = 200

  validation {
    condition     = var.db_max_allocated_storage >= 20
    error_message = "db_max_allocated_storage must be at least 20 GiB."
  }
}

variable "cache_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t3.medium"
}

variable "database_name" {
  description = "Application database name."
  type        = string
  default     = "billing"
}

variable "database_username" {
  description = "Database master user name."
  type        = string
  default     = "billing_admin"
}

# --- Durability and observability -------------------------------------------------------------------------------

variable "database_app_username" {
  description = "Role the application connects as (DATABASE_URL); a migration run as the master creates it."
  type        = string
  default     = "billing_app"
}

variable "db_master_password_version" {
  description = "Bump to rotate the database master password (write-only; the value never enters state)."
  type        = number
  default     = 1
}

variable "db_app_password_version" {
  description = "Bump to rotate the application role's password, rds/app and DATABASE_URL (write-only)."
  type        = number
  default     = 1
}

variable "final_snapshot" {
  description = "Take a final database snapshot on deletion (prod)."
  type        = bool
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, ... 3653)."
  }
}

variable "db_monitoring_interval" {
  description = "RDS enhanced monitoring interval in seconds (0 disables)."
  type        = number
  default     = 60
}

variable "backup_replica_region" {
  description = "Region receiving a copy of the database backups (optional cross-region replication); null disables."
  type        = string
  default     = null
}

variable "alb_access_logs_bucket" {
  description = "Existing S3 bucket for load balancer access logs (a log-archive account's); null: the service module creates one."
  type        = string
  default     = null
}

variable "secret_recovery_window_days" {
  description = "Recovery window of deleted secrets (0 deletes at once)."
  type        = number
  default     = 7
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a scheduled KMS key deletion."
  type        = number
  default     = 30
}

# --- Feature switches: all on in real accounts; envs/sandbox.tfvars turns off what moto does not emulate ---------

variable "enable_cache" {
  description = "Create the ElastiCache Redis replication group (and REDIS_URL's value)."
  type        = bool
  default     = true
}

variable "enable_autoscaling" {
  description = "Create Application Auto Scaling for the ECS service."
  type        = bool
  default     = true
}

variable "enable_db_parameter_group" {
  description = "Create the custom RDS parameter group (TLS only, query logging)."
  type        = bool
  default     = true
}

variable "enable_performance_insights" {
  description = "Enable RDS Performance Insights."
  type        = bool
  default     = true
}

variable "enable_certificate_validation" {
  description = "Wait for the ACM certificate to be issued before the HTTPS listener is created."
  type        = bool
  default     = true
}

variable "enable_deployment_circuit_breaker" {
  description = "ECS deployment circuit breaker with rollback."
  type        = bool
  default     = true
}

variable "enable_alb_access_logs" {
  description = "Load balancer access logs (to alb_access_logs_bucket, or to a bucket the service module creates)."
  type        = bool
  default     = true
}

variable "enable_waf" {
  description = "WAFv2 web ACL on the load balancer."
  type        = bool
  default     = true
}

variable "enable_db_event_subscription" {
  description = "RDS event subscription to the alarm topic."
  type        = bool
  default     = true
}

variable "enable_deployment_events" {
  description = "EventBridge rule publishing ECS deployment and service events to the alarm topic."
  type        = bool
  default     = true
}

variable "enable_tracing" {
  description = "X-Ray daemon sidecar and trace upload permission."
  type        = bool
  default     = true
}

variable "database_ca_bundle_path" {
  description = "Path of the RDS CA bundle (global-bundle.pem) inside the application image. Set: DATABASE_URL uses sslmode=verify-full with this sslrootcert. Empty: sslmode=require (encrypted, server certificate not checked)."
  type        = string
  default     = ""

  validation {
    condition     = var.database_ca_bundle_path == "" || can(regex("^/[A-Za-z0-9._/-]+$", var.database_ca_bundle_path))
    error_message = "database_ca_bundle_path must be empty or an absolute path of letters, digits and ._/- (it goes into a URL unescaped)."
  }
}
