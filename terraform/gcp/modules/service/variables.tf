variable "project_id" {
  description = "Project of the service."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run service."
  type        = string
}

variable "name_prefix" {
  description = "Prefix for resource names, e.g. billing-prod (also the Cloud Run service name)."
  type        = string
}

variable "network_id" {
  description = "VPC network for direct VPC egress."
  type        = string
}

variable "subnet_id" {
  description = "Subnet for direct VPC egress."
  type        = string
}

variable "image" {
  description = "Container image (Artifact Registry URL with tag or digest)."
  type        = string
}

variable "container_port" {
  description = "Port the application listens on."
  type        = number
  default     = 8000
}

variable "health_check_path" {
  description = "HTTP path of the startup and liveness probes."
  type        = string
  default     = "/health"
}

variable "cpu" {
  description = "CPU limit per instance, e.g. \"2\"."
  type        = string

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.cpu)
    error_message = "cpu must be one of 1, 2, 4, 6, 8."
  }
}

variable "memory" {
  description = "Memory limit per instance, e.g. \"2Gi\"."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "concurrency" {
  description = "Maximum concurrent requests per instance."
  type        = number
  default     = 80
}

variable "min_capacity" {
  description = "Minimum instances (0 allows scale to zero)."
  type        = number

  validation {
    condition     = var.min_capacity >= 0
    error_message = "min_capacity must not be negative."
  }
}

variable "max_capacity" {
  description = "Maximum instances."
  type        = number
}

variable "environment_variables" {
  description = "Plain environment variables of the container."
  type        = map(string)
  default     = {}
}

variable "secret_ids" {
  description = "Secret Manager secret ids by environment variable name, mounted into the container."
  type        = map(string)
}

variable "domain_name" {
  description = "Public DNS name of the service (managed certificate domain)."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the Cloud Run service from deletion by terraform."
  type        = bool
}

variable "labels" {
  description = "Labels of the service."
  type        = map(string)
  default     = {}
}

variable "candidate_source_ranges" {
  description = "CIDR ranges allowed on the load balancer's candidate path (/__candidate/*, the revision tagged candidate_tag, before it has traffic); empty: no candidate path."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.candidate_source_ranges) <= 10 && alltrue([for r in var.candidate_source_ranges : can(cidrhost(r, 0)) && r != "0.0.0.0/0"])
    error_message = "At most 10 CIDR ranges (one Cloud Armor rule), and not 0.0.0.0/0: the candidate path must not be public."
  }
}

variable "candidate_tag" {
  description = "Cloud Run traffic tag of the revision a rollout is checking (billingops uses \"candidate\")."
  type        = string
  default     = "candidate"
}
