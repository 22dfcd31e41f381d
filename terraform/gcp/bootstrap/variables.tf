variable "project_id" {
  description = "Project holding the state bucket."
  type        = string
}

variable "location" {
  description = "Location of the state bucket (a multi-region such as US survives a regional outage)."
  type        = string
  default     = "US"
}

variable "state_bucket" {
  description = "Name of the state bucket (bucket in ../envs/<env>.backend.hcl)."
  type        = string
  default     = "billing-platform-terraform-state"
}

variable "noncurrent_version_days" {
  description = "Days old state versions are kept (recovery from a bad apply)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 30
    error_message = "Keep old state versions for at least 30 days."
  }
}

variable "environments" {
  description = "Environments with their own state key (terraform-state-<env>, the backend's kms_encryption_key)."
  type        = list(string)
  default     = ["prod", "staging", "dev"]
}

variable "state_members" {
  description = "Principals (user:, group:, serviceAccount:) by environment allowed that environment's state objects only."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for env in keys(var.state_members) : contains(var.environments, env)])
    error_message = "state_members keys must be among environments."
  }
}
