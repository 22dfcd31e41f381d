variable "project_id" {
  description = "Project of the alert policies."
  type        = string
}

variable "name_prefix" {
  description = "Prefix for display names, e.g. billing-prod."
  type        = string
}

variable "alert_emails" {
  description = "Email notification channels."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "domain_name" {
  description = "Public DNS name probed by the uptime check."
  type        = string
}

variable "health_check_path" {
  description = "Path probed by the uptime check."
  type        = string
  default     = "/health"
}

variable "service_name" {
  description = "Cloud Run service name."
  type        = string
}

variable "database_instance" {
  description = "Cloud SQL instance name."
  type        = string
}

variable "redis_instance_id" {
  description = "Memorystore instance full name projects/P/locations/R/instances/I (the metrics' instance_id label)."
  type        = string
}

variable "labels" {
  description = "User labels of the alert policies."
  type        = map(string)
  default     = {}
}
