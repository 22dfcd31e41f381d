variable "name_prefix" {
  description = "Prefix for resource names, e.g. billing-prod."
  type        = string
}

variable "partition" {
  description = "AWS partition (aws, aws-cn, aws-us-gov) for managed policy ARNs."
  type        = string
  default     = "aws"
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (two or more AZs)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two availability zones."
  }
}

variable "allowed_security_groups" {
  description = "Security groups allowed to connect, by a static label (e.g. { app = sg-... })."
  type        = map(string)
}

variable "engine_version" {
  description = "PostgreSQL major (or major.minor) version."
  type        = string
  default     = "15"

  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.engine_version))
    error_message = "The platform runs PostgreSQL 15: engine_version must be 15 or 15.x."
  }
}

variable "instance_class" {
  description = "RDS instance class, e.g. db.t3.medium."
  type        = string

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class such as db.t3.medium."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB (0 disables autoscaling)."
  type        = number
}

variable "database_name" {
  description = "Name of the application database."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must start with a letter and contain lowercase letters, digits and underscores."
  }
}

variable "master_username" {
  description = "Master user name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.master_username)) && !contains(["postgres", "admin", "rdsadmin"], var.master_username)
    error_message = "master_username must be 1-16 lowercase letters, digits or underscores and not a reserved name."
  }
}

variable "app_username" {
  description = "Role the application connects as (DATABASE_URL); created by a migration run as the master."
  type        = string
  default     = "billing_app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.app_username))
    error_message = "app_username must start with a letter and contain lowercase letters, digits and underscores."
  }
}

variable "master_password_version" {
  description = "Version of the master password (write-only): bump it to rotate the master credential."
  type        = number
  default     = 1
}

variable "app_password_version" {
  description = "Version of the application role's password (write-only): bump it to rotate rds/app and DATABASE_URL."
  type        = number
  default     = 1
}

variable "database_url_secret_arn" {
  description = "Secret (created elsewhere, empty) that receives the application's DATABASE_URL."
  type        = string
}

variable "port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432
}

variable "multi_az" {
  description = "Synchronous standby in a second AZ with automatic failover."
  type        = bool
}

variable "backup_retention_days" {
  description = "Automated backup (and point-in-time recovery) retention in days."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35 (0 would disable backups and PITR)."
  }
}

variable "backup_window" {
  description = "Daily backup window (UTC)."
  type        = string
  default     = "03:00-04:00"
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC), after the backup window."
  type        = string
  default     = "sun:04:30-sun:05:30"
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
}

variable "final_snapshot" {
  description = "Take a final snapshot when the instance is deleted."
  type        = bool
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for storage, backups, Performance Insights and the credential secret."
  type        = string
}

variable "enable_parameter_group" {
  description = "Create the custom parameter group (TLS only, logging). false uses the engine default group."
  type        = bool
  default     = true
}

variable "enable_performance_insights" {
  description = "Enable Performance Insights, encrypted with kms_key_arn."
  type        = bool
  default     = true
}

variable "performance_insights_retention_days" {
  description = "Performance Insights retention (7 is free; multiples of 31 up to 731)."
  type        = number
  default     = 7

  validation {
    condition     = var.performance_insights_retention_days == 7 || var.performance_insights_retention_days == 731 || (var.performance_insights_retention_days % 31 == 0 && var.performance_insights_retention_days <= 713)
    error_message = "performance_insights_retention_days must be 7, 731 or a multiple of 31."
  }
}

variable "monitoring_interval" {
  description = "Enhanced monitoring interval in seconds (0 disables)."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the credential secret (0 deletes at once)."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "backup_replica_region" {
  description = "Region receiving a copy of the automated backups; null disables cross-region replication."
  type        = string
  default     = null
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
