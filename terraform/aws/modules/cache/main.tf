locals {
  id = "${var.name_prefix}-redis"
}

# Authentication: Redis ACL users authenticated by IAM (no AUTH token or password exists, so none can reach
# terraform state; the AWS provider has no write-only auth_token). A client connects as the user with a SigV4
# token signed by a principal holding `elasticache:Connect` on the replication group and the user (the ECS task
# role for `app`; the operator's role for `ops`, used by migrate-cloud). The built-in `default` user is replaced
# by a disabled one, as ElastiCache requires every user group to hold a user named default.
locals {
  users = {
    # user_id must equal user_name for IAM authentication.
    app = "+@all -@dangerous" # the application: no FLUSHALL, KEYS, CONFIG, DEBUG...
    ops = "+@all"             # migrate-cloud's copy (SCAN, DUMP/RESTORE, ...)
  }
}

resource "aws_elasticache_user" "default" {
  user_id       = "${local.id}-default"
  user_name     = "default"
  engine        = "redis"
  access_string = "off ~* -@all"

  authentication_mode {
    type = "no-password-required" # the user is off: nobody can log in as default
  }

  tags = var.tags
}

resource "aws_elasticache_user" "iam" {
  for_each = local.users

  user_id       = "${local.id}-${each.key}"
  user_name     = "${local.id}-${each.key}"
  engine        = "redis"
  access_string = "on ~* &* ${each.value}"

  authentication_mode {
    type = "iam"
  }

  tags = var.tags
}

resource "aws_elasticache_user_group" "this" {
  user_group_id = local.id
  engine        = "redis"
  user_ids      = concat([aws_elasticache_user.default.user_id], [for u in aws_elasticache_user.iam : u.user_id])

  tags = var.tags
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
  user_group_ids             = [aws_elasticache_user_group.this.user_group_id]

  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = var.snapshot_window
  maintenance_window         = var.maintenance_window
  auto_minor_version_upgrade = true
  apply_immediately          = false

  # A last snapshot before the group is deleted (destroy, or a replacing change): cache data is never lost silently.
  final_snapshot_identifier = var.final_snapshot ? "${local.id}-final" : null

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow_log.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = var.tags
}
