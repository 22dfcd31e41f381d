variable "name_prefix" {
  description = "Prefix of the secret names (<name_prefix>/<NAME>)."
  type        = string
}

variable "secret_names" {
  description = "Every secret to create (environment variable names); those not in plain_secret_names are created empty."
  type        = list(string)

  validation {
    condition     = alltrue([for n in var.secret_names : can(regex("^[A-Z][A-Z0-9_]*$", n))]) && length(distinct(var.secret_names)) == length(var.secret_names)
    error_message = "secret_names must be distinct UPPER_SNAKE_CASE environment variable names."
  }
}

variable "plain_secret_names" {
  description = "Secrets whose value terraform writes from plain_secret_values (a subset of secret_names)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.plain_secret_names : contains(var.secret_names, n)])
    error_message = "plain_secret_names must be a subset of secret_names."
  }
}

variable "plain_secret_values" {
  description = "Values of plain_secret_names, by name. They are stored in terraform state: never a credential."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting the secrets."
  type        = string
}

variable "recovery_window_days" {
  description = "Recovery window before a deleted secret is gone (0 deletes at once, 7-30 otherwise)."
  type        = number
  default     = 7

  validation {
    condition     = var.recovery_window_days == 0 || (var.recovery_window_days >= 7 && var.recovery_window_days <= 30)
    error_message = "recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
