output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "VPC CIDR block."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnet ids, one per AZ (load balancer, NAT)."
  value       = [for az in var.availability_zones : aws_subnet.public[az].id]
}

output "private_subnet_ids" {
  description = "Private subnet ids, one per AZ (tasks, database, cache)."
  value       = [for az in var.availability_zones : aws_subnet.private[az].id]
}

output "nat_public_ips" {
  description = "Egress IPs of the NAT gateways (for allow-lists at payment providers)."
  value       = [for k, v in aws_eip.nat : v.public_ip]
}
