variable "region" {
  description = "Region of the state bucket and lock table (the region in ../envs/<env>.backend.hcl)."
  type        = string
  default     = "us-east-1"
}

variable "state_bucket" {
  description = "Name of the state bucket (bucket in ../envs/<env>.backend.hcl)."
  type        = string
  default     = "billing-platform-terraform-state"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be a valid S3 bucket name."
  }
}

variable "lock_table" {
  description = "Name of the legacy DynamoDB lock table (dynamodb_table of backends not yet on use_lockfile)."
  type        = string
  default     = "terraform-state-lock"
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
  description = "Environments with their own state prefix (<env>/), KMS key and IAM policy."
  type        = list(string)
  default     = ["prod", "staging", "dev"]
}
