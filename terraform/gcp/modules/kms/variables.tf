variable "project_id" {
  description = "Project of the key ring."
  type        = string
}

variable "region" {
  description = "Location of the key ring (the region of the data it protects)."
  type        = string
}

variable "name_prefix" {
  description = "Key ring name, e.g. billing-prod."
  type        = string
}

variable "key_ring" {
  description = "Key ring name; key rings cannot be deleted, so a re-created environment needs a new name (suffix)."
  type        = string
}

variable "keys" {
  description = "Crypto keys by purpose, each with the IAM members (service agents) allowed to encrypt and decrypt."
  type = map(object({
    encrypters = list(string)
  }))
}

variable "rotation_period" {
  description = "Automatic rotation period, in seconds with an s suffix (90 days = 7776000s)."
  type        = string
  default     = "7776000s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.rotation_period)) && tonumber(trimsuffix(var.rotation_period, "s")) >= 86400 && tonumber(trimsuffix(var.rotation_period, "s")) <= 7776000
    error_message = "rotation_period must be between 86400s (1 day) and 7776000s (90 days)."
  }
}

variable "protection_level" {
  description = "SOFTWARE or HSM."
  type        = string
  default     = "SOFTWARE"

  validation {
    condition     = contains(["SOFTWARE", "HSM"], var.protection_level)
    error_message = "protection_level must be SOFTWARE or HSM."
  }
}

variable "labels" {
  description = "Labels for the keys."
  type        = map(string)
  default     = {}
}
