locals {
  identifier = "${var.name_prefix}-postgres"
  family     = "postgres${split(".", var.engine_version)[0]}"
}

# Master credential. Generated once by Secrets Manager (no random provider needed), stored in its own
# KMS-encrypted secret, and fed to RDS from there. The generator returns a new value on every read, so the
# stored value is deliberately ignored after creation: it is the source of truth, rotated by replacing it
# (`terraform apply -replace=module.database.aws_secretsmanager_secret_version.master`).
data "aws_secretsmanager_random_password" "master" {
  password_length     = 40
  exclude_punctuation = true # the password goes into a postgresql:// URL unescaped
}

resource "aws_secretsmanager_secret" "master" {
  # checkov:skip=CKV2_AWS_57: rotating the master password must rewrite DATABASE_URL too; done by replacing the version (see README)
  name                    = "${var.name_prefix}/rds/master"
  description             = "Master credential of ${local.identifier}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "master" {
  secret_id = aws_secretsmanager_secret.master.id
  secret_string = jsonencode({
    username = var.master_username
    password = data.aws_secretsmanager_random_password.master.random_password
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

locals {
  master_password = jsondecode(aws_secretsmanager_secret_version.master.secret_string).password
}

resource "aws_db_subnet_group" "this" {
  name       = local.identifier
  subnet_ids = var.subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name        = "${local.identifier}-sg"
  description = "PostgreSQL ${local.identifier}: reachable only from the application"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${local.identifier}-sg" })
}

resource "aws_vpc_security_group_ingress_rule" "from_app" {
  for_each = var.allowed_security_groups

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from the application"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
}

resource "aws_db_parameter_group" "this" {
  count = var.enable_parameter_group ? 1 : 0

  name        = local.identifier
  family      = local.family
  description = "Parameters of ${local.identifier}: TLS only, query and connection logging"

  # TLS in transit is mandatory for every client.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  # DDL statements and every query slower than 1 s reach the log (the seed's P95 target).
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  name               = "${local.identifier}-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${var.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  # checkov:skip=CKV_AWS_157: Multi-AZ follows var.multi_az (true in prod; staging/dev are single-AZ by the seed)
  # checkov:skip=CKV_AWS_293: deletion protection follows var.deletion_protection (true in prod by the seed)
  identifier = local.identifier

  engine                     = "postgres"
  engine_version             = var.engine_version
  instance_class             = var.instance_class
  auto_minor_version_upgrade = true
  parameter_group_name       = var.enable_parameter_group ? aws_db_parameter_group.this[0].name : null # null: the engine default group

  db_name  = var.database_name
  username = var.master_username
  password = local.master_password
  port     = var.port

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.this.id]
  publicly_accessible                 = false
  iam_database_authentication_enabled = true
  multi_az                            = var.multi_az

  backup_retention_period   = var.backup_retention_days
  backup_window             = var.backup_window
  maintenance_window        = var.maintenance_window
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.final_snapshot
  final_snapshot_identifier = var.final_snapshot ? "${local.identifier}-final" : null

  performance_insights_enabled          = var.enable_performance_insights
  performance_insights_kms_key_id       = var.enable_performance_insights ? var.kms_key_arn : null
  performance_insights_retention_period = var.enable_performance_insights ? var.performance_insights_retention_days : null

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.monitoring]
}
