variable "name_prefix" {
  description = "Prefix for resource names, e.g. billing-prod."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC; a /16 leaves room for /24 subnets per AZ."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 16
    error_message = "cidr_block must be a valid IPv4 CIDR of size /16 or larger."
  }
}

variable "availability_zones" {
  description = "Availability zones to spread the subnets over (two or more)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "At least two availability zones are required (the load balancer and RDS subnet group need them)."
  }
}

variable "one_nat_gateway_per_az" {
  description = "Create a NAT gateway in every AZ (true, highly available) or one shared gateway (false, cheaper)."
  type        = bool
}

variable "log_retention_days" {
  description = "Retention of the VPC flow log group."
  type        = number
}

variable "logs_kms_key_arn" {
  description = "KMS key ARN encrypting the flow log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
