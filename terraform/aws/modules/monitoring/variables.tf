variable "name_prefix" {
  description = "Prefix for resource names, e.g. billing-prod."
  type        = string
}

variable "region" {
  description = "Region shown by the dashboard widgets."
  type        = string
}

variable "alert_emails" {
  description = "Email addresses subscribed to the alarm topic (each must confirm)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "alert_subscriptions" {
  description = "Subscriptions by severity (critical, warning, info): e.g. { critical = [{ protocol = \"https\", endpoint = \"https://events.pagerduty.com/integration/<key>/enqueue\" }] }."
  type = map(list(object({
    protocol = string
    endpoint = string
  })))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.alert_subscriptions) : contains(["critical", "warning", "info"], k)])
    error_message = "alert_subscriptions keys must be critical, warning or info."
  }
}

variable "level" {
  description = "Monitoring level: enhanced (every alarm and info notifications), basic (every alarm), minimal (critical alarms only)."
  type        = string
  default     = "enhanced"

  validation {
    condition     = contains(["enhanced", "basic", "minimal"], var.level)
    error_message = "level must be enhanced, basic or minimal."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the SNS topic (its policy must let CloudWatch and RDS use it)."
  type        = string
}

variable "load_balancer_arn_suffix" {
  description = "ARN suffix of the load balancer."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the target group."
  type        = string
}

variable "ecs_cluster_name" {
  description = "ECS cluster name."
  type        = string
}

variable "ecs_service_name" {
  description = "ECS service name."
  type        = string
}

variable "ecs_service_arn" {
  description = "ECS service ARN (EventBridge rule on its deployments)."
  type        = string
}

variable "enable_deployment_events" {
  description = "Publish ECS deployment and service action events to the topic (info notifications)."
  type        = bool
  default     = true
}

variable "db_instance_identifier" {
  description = "RDS instance identifier."
  type        = string
}

variable "db_allocated_storage_gib" {
  description = "Allocated database storage; the storage alarm fires below 10% free."
  type        = number
}

variable "cache_id" {
  description = "ElastiCache replication group id; null when there is no cache."
  type        = string
  default     = null
}

variable "enable_db_event_subscription" {
  description = "Subscribe the alarm topic to the database's RDS events (availability, backup, failover, storage)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
