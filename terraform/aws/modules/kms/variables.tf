variable "name_prefix" {
  description = "Prefix for key aliases and descriptions, e.g. billing-prod."
  type        = string
}

variable "region" {
  description = "Region of the keys; scopes the CloudWatch Logs service grant."
  type        = string
}

variable "keys" {
  description = "Customer managed keys to create, by purpose. services lists the AWS services granted use in the key policy (logs, alarms)."
  type = map(object({
    description = string
    services    = optional(list(string), [])
  }))

  validation {
    condition     = alltrue([for k in values(var.keys) : alltrue([for s in k.services : contains(["logs", "alarms"], s)])])
    error_message = "services may only contain \"logs\" and \"alarms\"."
  }
}

variable "rotation_period_in_days" {
  description = "Automatic key rotation period; null keeps the AWS default (365 days)."
  type        = number
  default     = null

  validation {
    condition     = var.rotation_period_in_days == null ? true : var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560
    error_message = "rotation_period_in_days must be between 90 and 2560."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
