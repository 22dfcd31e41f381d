variable "project_id" {
  description = "Project of the secrets."
  type        = string
}

variable "region" {
  description = "Region of the secret replicas."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the secret ids (<name_prefix>-<name in kebab case>)."
  type        = string
}

variable "secret_names" {
  description = "Every secret to create (environment variable names); those not in managed_secret_names are created empty."
  type        = list(string)

  validation {
    condition     = alltrue([for n in var.secret_names : can(regex("^[A-Z][A-Z0-9_]*$", n))]) && length(distinct(var.secret_names)) == length(var.secret_names)
    error_message = "secret_names must be distinct UPPER_SNAKE_CASE environment variable names."
  }
}

variable "managed_secret_names" {
  description = "Secrets whose value terraform writes from managed_secret_values (a subset of secret_names)."
  type        = list(string)

  validation {
    condition     = alltrue([for n in var.managed_secret_names : contains(var.secret_names, n)])
    error_message = "managed_secret_names must be a subset of secret_names."
  }
}

variable "managed_secret_values" {
  description = "Values of the managed secrets, by name."
  type        = map(string)
  sensitive   = true
}

variable "kms_key_id" {
  description = "Customer managed Cloud KMS key of the replicas."
  type        = string
}

variable "labels" {
  description = "Labels of the secrets."
  type        = map(string)
  default     = {}
}
