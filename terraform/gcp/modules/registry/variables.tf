variable "project_id" {
  description = "Project of the repository."
  type        = string
}

variable "region" {
  description = "Location of the repository."
  type        = string
}

variable "name" {
  description = "Repository id."
  type        = string
}

variable "kms_key_id" {
  description = "Customer managed Cloud KMS key of the repository."
  type        = string
}

variable "keep_images" {
  description = "Most recent image versions always kept by the cleanup policy (rollback depth)."
  type        = number
  default     = 50

  validation {
    condition     = var.keep_images >= 5
    error_message = "keep_images must be at least 5 so that rollbacks have images to go back to."
  }
}

variable "labels" {
  description = "Labels of the repository."
  type        = map(string)
  default     = {}
}
