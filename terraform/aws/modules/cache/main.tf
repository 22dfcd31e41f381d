locals {
  id = "${var.name_prefix}-redis"
}

# AUTH token, generated once by Secrets Manager and kept in a KMS-encrypted secret; see the database module
# for why the stored value is ignored after creation.
data "aws_secretsmanager_random_password" "auth" {
  password_length     = 64
  exclude_punctuation = true # ElastiCache forbids some punctuation and the token goes into a rediss:// URL
}

resource "aws_secretsmanager_secret" "auth" {
  # checkov:skip=CKV2_AWS_57: rotating the AUTH token must rewrite REDIS_URL too; done by replacing the version (see README)
  name                    = "${var.name_prefix}/redis/auth-token"
  description             = "AUTH token of ${local.id}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "auth" {
  secret_id     = aws_secretsmanager_secret.auth.id
  secret_string = data.aws_secretsmanager_random_password.auth.random_password

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_elasticache_subnet_group" "this" {
  name       = local.id
  subnet_ids = var.subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name        = "${local.id}-sg"
  description = "Redis ${local.id}: reachable only from the application"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${local.id}-sg" })
}

resource "aws_vpc_security_group_ingress_rule" "from_app" {
  for_each = var.allowed_security_groups

  security_group_id            = aws_security_group.this.id
  description                  = "Redis from the application"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
}

resource "aws_elasticache_parameter_group" "this" {
  name        = local.id
  family      = "redis7"
  description = "Parameters of ${local.id}"

  # Sessions and idempotency keys carry TTLs: evict those first when memory runs out.
  parameter {
    name  = "maxmemory-policy"
    value = "volatile-lru"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "slow_log" {
  name              = "/aws/elasticache/${local.id}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = local.id
  description          = "Redis for ${var.name_prefix}"

  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = var.port
  parameter_group_name = aws_elasticache_parameter_group.this.name

  # A replica in a second AZ with automatic failover when multi_az; a single node otherwise.
  num_cache_clusters         = var.multi_az ? 2 : 1
  automatic_failover_enabled = var.multi_az
  multi_az_enabled           = var.multi_az

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = aws_secretsmanager_secret_version.auth.secret_string
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = var.snapshot_window
  maintenance_window         = var.maintenance_window
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow_log.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = var.tags
}
