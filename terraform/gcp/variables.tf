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
  description = "Highly available across zones: Cloud SQL REGIONAL, Memorystore STANDARD_HA."
  type        = bool
}

variable "backup_retention_days" {
  description = "Daily Cloud SQL backups kept; point-in-time recovery covers up to 7 of those days."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 365
    error_message = "backup_retention_days must be between 1 and 365."
  }
}

variable "backup_location" {
  description = "Region or multi-region holding the Cloud SQL backups (optional cross-region copies); null keeps the default."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect the Cloud SQL instance and the Cloud Run service from deletion."
  type        = bool
}

variable "min_capacity" {
  description = "Minimum Cloud Run instances (0 scales to zero)."
  type        = number

  validation {
    condition     = var.min_capacity >= 0 && var.min_capacity <= 100
    error_message = "min_capacity must be between 0 and 100."
  }
}

variable "max_capacity" {
  description = "Maximum Cloud Run instances."
  type        = number

  validation {
    condition     = var.max_capacity >= 1 && var.max_capacity <= 1000
    error_message = "max_capacity must be between 1 and 1000."
  }
}

# --- Placement and naming ---------------------------------------------------------------------------------------

variable "project_id" {
  description = "GCP project of the stack."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "GCP region of the stack."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region name such as us-central1."
  }
}

variable "subnet_cidr" {
  description = "CIDR of the regional subnet."
  type        = string
  default     = "10.30.0.0/20"
}

variable "private_services_cidr" {
  description = "CIDR reserved for private services access (Cloud SQL, Memorystore)."
  type        = string
  default     = "10.31.0.0/20"
}

variable "domain_name" {
  description = "Public DNS name of the API, e.g. billing.example.com (managed certificate domain)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name such as billing.example.com."
  }
}

variable "alert_email" {
  description = "Email notification channel of the alert policies; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an email address or empty."
  }
}

# --- Application ------------------------------------------------------------------------------------------------

variable "image" {
  description = "Container image of the application (Artifact Registry URL with tag or digest)."
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
  description = "Application secrets created empty in Secret Manager and mounted into the container; billingops seeds them."
  type        = list(string)
  default     = ["SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"]

  validation {
    condition     = alltrue([for n in var.app_secret_names : can(regex("^[A-Z][A-Z0-9_]*$", n)) && !contains(["DATABASE_URL", "REDIS_URL"], n)])
    error_message = "app_secret_names must be UPPER_SNAKE_CASE and must not repeat DATABASE_URL or REDIS_URL."
  }
}

# --- Sizing -----------------------------------------------------------------------------------------------------

variable "cpu" {
  description = "Cloud Run CPU limit per instance."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Cloud Run memory limit per instance."
  type        = string
  default     = "1Gi"
}

variable "db_tier" {
  description = "Cloud SQL machine tier."
  type        = string
  default     = "db-custom-2-7680"
}

variable "db_disk_size_gb" {
  description = "Initial Cloud SQL disk size in GB."
  type        = number
  default     = 50
}

variable "db_disk_autoresize_limit_gb" {
  description = "Ceiling of Cloud SQL disk growth in GB."
  type        = number
  default     = 200
}

variable "redis_memory_size_gb" {
  description = "Memorystore memory size in GB."
  type        = number
  default     = 4
}

variable "database_name" {
  description = "Application database name."
  type        = string
  default     = "billing"
}

variable "database_username" {
  description = "Application database user."
  type        = string
  default     = "billing_app"
}

variable "kms_key_ring_suffix" {
  description = "Suffix of the KMS key ring name. Key rings and keys cannot be deleted: after destroying an environment, change it (e.g. 1 -> 2) before re-creating the environment, or the create fails with 409."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,20}$", var.kms_key_ring_suffix))
    error_message = "kms_key_ring_suffix must be 1-20 lowercase letters, digits or hyphens."
  }
}

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
  description = "Bump to rotate the application role's password, -db-app and DATABASE_URL (write-only)."
  type        = number
  default     = 1
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

variable "candidate_source_ranges" {
  description = "CIDR ranges (operators, CI) allowed on the load balancer's candidate path, where billingops rollout checks a new revision before it gets traffic; empty (default): no candidate path, the gate is the revision's Ready condition and the load balancer after each traffic step."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.candidate_source_ranges) <= 10 && alltrue([for r in var.candidate_source_ranges : can(cidrhost(r, 0)) && r != "0.0.0.0/0"])
    error_message = "At most 10 CIDR ranges, and not 0.0.0.0/0: the candidate path must not be public."
  }
}

