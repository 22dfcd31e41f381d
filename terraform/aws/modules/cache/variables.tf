variable "name_prefix" {
  description = "Prefix for resource names, e.g. billing-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cache."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cache subnet group."
  type        = list(string)
}

variable "allowed_security_groups" {
  description = "Security groups allowed to connect, by a static label (e.g. { app = sg-... })."
  type        = map(string)
}

variable "engine_version" {
  description = "Redis engine version (7.x)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.engine_version))
    error_message = "The platform runs Redis 7: engine_version must be 7.x."
  }
}

variable "node_type" {
  description = "Cache node type, e.g. cache.t3.medium."
  type        = string

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type must be an ElastiCache node type such as cache.t3.medium."
  }
}

variable "port" {
  description = "Redis port."
  type        = number
  default     = 6379
}

variable "multi_az" {
  description = "Two nodes in different AZs with automatic failover."
  type        = bool
}

variable "snapshot_retention_days" {
  description = "Daily snapshot retention (0 disables snapshots)."
  type        = number

  validation {
    condition     = var.snapshot_retention_days >= 0 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days must be between 0 and 35."
  }
}

variable "snapshot_window" {
  description = "Daily snapshot window (UTC)."
  type        = string
  default     = "02:00-03:00"
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC)."
  type        = string
  default     = "sun:05:30-sun:06:30"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for data at rest and snapshots."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the slow-log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the slow-log group."
  type        = number
}

variable "final_snapshot" {
  description = "Take a final snapshot when the replication group is deleted."
  type        = bool
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
