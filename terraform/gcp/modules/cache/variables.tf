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
  description = "VPC network with private services access."
  type        = string
}

variable "redis_version" {
  description = "Memorystore Redis version (7.x)."
  type        = string
  default     = "REDIS_7_2"

  validation {
    condition     = startswith(var.redis_version, "REDIS_7_")
    error_message = "The platform runs Redis 7: redis_version must be REDIS_7_x."
  }
}

variable "memory_size_gb" {
  description = "Memory size in GB."
  type        = number

  validation {
    condition     = var.memory_size_gb >= 1 && var.memory_size_gb <= 300
    error_message = "memory_size_gb must be between 1 and 300."
  }
}

variable "multi_az" {
  description = "STANDARD_HA (replica in another zone, automatic failover) instead of BASIC."
  type        = bool
}

variable "kms_key_id" {
  description = "Customer managed Cloud KMS key of the instance."
  type        = string
}

variable "redis_url_secret_id" {
  description = "Secret (created elsewhere, empty) that receives REDIS_URL."
  type        = string
}

variable "redis_url_version" {
  description = "Bump to rewrite REDIS_URL (after the AUTH string was rotated or the instance replaced)."
  type        = number
  default     = 1
}

variable "labels" {
  description = "Labels of the instance."
  type        = map(string)
  default     = {}
}
