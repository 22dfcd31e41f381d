locals {
  database_tls = var.database_ca_bundle_path == "" ? "sslmode=require" : "sslmode=verify-full&sslrootcert=${var.database_ca_bundle_path}"
  identifier   = "${var.name_prefix}-postgres"
  family       = "postgres${split(".", var.engine_version)[0]}"
}

# Credentials. No password ever reaches terraform state: each one is an ephemeral value from Secrets Manager's
# generator (opened during plan and apply, never stored), written only through write-only attributes
# (`password_wo`, `secret_string_wo`). Within one apply the ephemeral value is opened once, so the database and
# the secrets that carry it receive the same value. The *_password_version inputs are the only thing state
# records: bump one to rotate that credential (a fresh value is generated and written everywhere it is used).
#
# The master credential serves only migrations and migrate-cloud (`billingops db migrate` reads rds/master); the
# application connects as app_username, a role a migration run as the master creates with the password of
# rds/app. DATABASE_URL (the secret the service reads) is the application role's URL.
ephemeral "aws_secretsmanager_random_password" "master" {
  password_length     = 40
  exclude_punctuation = true # the password goes into a postgresql:// URL unescaped
}

ephemeral "aws_secretsmanager_random_password" "app" {
  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "master" {
  # checkov:skip=CKV2_AWS_57: rotation is a terraform apply with master_password_version bumped (write-only, see README)
  name                    = "${var.name_prefix}/rds/master"
  description             = "Master credential of ${local.identifier} (migrations only)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags
}

# The RDS secret layout ({engine, host, port, dbname, username, password}) that Secrets Manager's rotation
# functions and most clients understand.
resource "aws_secretsmanager_secret_version" "master" {
  secret_id = aws_secretsmanager_secret.master.id
  secret_string_wo = jsonencode({
    engine   = "postgres"
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    dbname   = var.database_name
    username = var.master_username
    password = ephemeral.aws_secretsmanager_random_password.master.random_password
  })
  secret_string_wo_version = var.master_password_version
}

resource "aws_secretsmanager_secret" "app" {
  # checkov:skip=CKV2_AWS_57: rotation is a terraform apply with app_password_version bumped plus the migration that sets the role's password (see README)
  name                    = "${var.name_prefix}/rds/app"
  description             = "Credential of the application role of ${local.identifier}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string_wo = jsonencode({
    engine   = "postgres"
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    dbname   = var.database_name
    username = var.app_username
    password = ephemeral.aws_secretsmanager_random_password.app.random_password
  })
  secret_string_wo_version = var.app_password_version
}

# DATABASE_URL: created (empty) by the secrets module, its value written here with the same ephemeral password.
# TLS: the URL connects by the RDS endpoint's DNS name, which RDS server certificates carry, so verify-full works
# once the image ships the RDS CA bundle (database_ca_bundle_path); without it the URL says sslmode=require:
# encrypted, but the server's certificate is not checked (libpq's default, prefer, would even fall back to plain).
resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id = var.database_url_secret_arn
  secret_string_wo = format(
    "postgresql://%s:%s@%s:%d/%s?%s",
    var.app_username, ephemeral.aws_secretsmanager_random_password.app.random_password,
    aws_db_instance.this.address, aws_db_instance.this.port, var.database_name, local.database_tls,
  )
  secret_string_wo_version = var.app_password_version
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
  # Write-only: sent on create and whenever master_password_version changes, never stored in state.
  password_wo         = ephemeral.aws_secretsmanager_random_password.master.random_password
  password_wo_version = var.master_password_version
  port                = var.port

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
