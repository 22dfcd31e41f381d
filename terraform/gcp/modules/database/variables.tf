variable "project_id" {
  description = "Project of the instance."
  type        = string
}

variable "region" {
  description = "Region of the instance."
  type        = string
}

variable "name_prefix" {
  description = "Prefix for resource names, e.g. billing-prod."
  type        = string
}

variable "network_id" {
  description = "VPC network with private services access (the instance gets only a private IP there)."
  type        = string
}

variable "tier" {
  description = "Machine tier, e.g. db-custom-2-7680."
  type        = string

  validation {
    condition     = startswith(var.tier, "db-")
    error_message = "tier must be a Cloud SQL tier such as db-custom-2-7680."
  }
}

variable "disk_size_gb" {
  description = "Initial disk size in GB."
  type        = number

  validation {
    condition     = var.disk_size_gb >= 10
    error_message = "disk_size_gb must be at least 10."
  }
}

variable "disk_autoresize_limit_gb" {
  description = "Ceiling of automatic disk growth in GB (0 = unlimited)."
  type        = number
}

variable "multi_az" {
  description = "REGIONAL availability (standby in a second zone with automatic failover) instead of ZONAL."
  type        = bool
}

variable "backup_retention_days" {
  description = "Daily backups kept (one per day) and, up to 7, days of point-in-time recovery."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 365
    error_message = "backup_retention_days must be between 1 and 365."
  }
}

variable "backup_start_time" {
  description = "Start of the daily backup window (HH:MM, UTC)."
  type        = string
  default     = "03:00"
}

variable "backup_location" {
  description = "Region or multi-region (e.g. us) the backups are stored in, for restores after a regional failure; null keeps Cloud SQL's default (multi-region of the instance)."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect the instance from deletion (in terraform and in the API)."
  type        = bool
}

variable "kms_key_id" {
  description = "Customer managed Cloud KMS key of the instance (CMEK)."
  type        = string
}

variable "database_name" {
  description = "Application database name."
  type        = string
}

variable "username" {
  description = "Application database user."
  type        = string
}

variable "app_username" {
  description = "Role the application connects as (DATABASE_URL); created by a migration run as the master."
  type        = string
  default     = "billing_app"
}

variable "master_password_version" {
  description = "Version of the master password (write-only): bump it to rotate the master credential."
  type        = number
  default     = 1
}

variable "app_password_version" {
  description = "Version of the application role's password (write-only): bump it to rotate -db-app and DATABASE_URL."
  type        = number
  default     = 1
}

variable "database_url_secret_id" {
  description = "Secret (created elsewhere, empty) that receives the application's DATABASE_URL."
  type        = string
}

variable "secrets_kms_key_id" {
  description = "Customer managed key of the credential secrets."
  type        = string
}

variable "extra_database_flags" {
  description = "PostgreSQL flags added to the logging and auditing flags the module always sets."
  type        = map(string)
  default     = {}
}

variable "labels" {
  description = "Labels of the instance."
  type        = map(string)
  default     = {}
}

variable "database_ca_cert_path" {
  description = "Path inside the application image of the Cloud SQL instance's server CA (the instance's server_ca_cert). Set: DATABASE_URL uses sslmode=verify-ca with this sslrootcert. Empty: sslmode=require (encrypted, server certificate not checked)."
  type        = string
  default     = ""

  validation {
    condition     = var.database_ca_cert_path == "" || can(regex("^/[A-Za-z0-9._/-]+$", var.database_ca_cert_path))
    error_message = "database_ca_cert_path must be empty or an absolute path of letters, digits and ._/- (it goes into a URL unescaped)."
  }
}
