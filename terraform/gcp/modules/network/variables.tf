variable "project_id" {
  description = "Project of the network."
  type        = string
}

variable "region" {
  description = "Region of the subnet."
  type        = string
}

variable "name_prefix" {
  description = "Prefix for resource names, e.g. billing-prod."
  type        = string
}

variable "subnet_cidr" {
  description = "CIDR of the regional subnet (Cloud Run direct VPC egress uses addresses from it)."
  type        = string

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be a valid IPv4 CIDR."
  }
}

variable "private_services_cidr" {
  description = "CIDR reserved for private services access (Cloud SQL, Memorystore); /20 or larger."
  type        = string

  validation {
    condition     = can(cidrhost(var.private_services_cidr, 0)) && tonumber(split("/", var.private_services_cidr)[1]) <= 20
    error_message = "private_services_cidr must be a valid IPv4 CIDR of size /20 or larger."
  }
}
