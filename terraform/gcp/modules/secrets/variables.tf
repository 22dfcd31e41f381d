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
  description = "Every secret to create (environment variable names) (created empty; values are written write-only elsewhere or by billingops)."
  type        = list(string)

  validation {
    condition     = alltrue([for n in var.secret_names : can(regex("^[A-Z][A-Z0-9_]*$", n))]) && length(distinct(var.secret_names)) == length(var.secret_names)
    error_message = "secret_names must be distinct UPPER_SNAKE_CASE environment variable names."
  }
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
