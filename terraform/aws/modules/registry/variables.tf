variable "name" {
  description = "Repository name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting the images."
  type        = string
}

variable "keep_images" {
  description = "Number of images kept by the lifecycle policy (rollback depth)."
  type        = number
  default     = 50

  validation {
    condition     = var.keep_images >= 5
    error_message = "keep_images must be at least 5 so that rollbacks have images to go back to."
  }
}

variable "force_delete" {
  description = "Delete the repository even if it holds images (never in prod)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
