data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

  # Services that encrypt with these keys on the account's behalf. CloudWatch Logs needs an explicit grant in the
  # key policy (it does not use IAM); SNS and CloudWatch alarms need it to publish to an encrypted topic.
  service_statements = {
    logs = {
      Sid       = "AllowCloudWatchLogs"
      Effect    = "Allow"
      Principal = { Service = "logs.${var.region}.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = {
        ArnLike = {
          "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:*"
        }
      }
    }
    alarms = {
      Sid       = "AllowAlarmPublishing"
      Effect    = "Allow"
      Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "events.rds.amazonaws.com"] }
      Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
      Resource  = "*"
      # Only on behalf of this account's alarms and rules (confused deputy).
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
      }
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = var.keys

  description             = "${var.name_prefix} ${each.key}: ${each.value.description}"
  enable_key_rotation     = true
  rotation_period_in_days = var.rotation_period_in_days
  deletion_window_in_days = var.deletion_window_in_days

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        # Key administration stays with the account's IAM policies (the AWS default key policy).
        Sid       = "EnableIAMUserPermissions"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = "kms:*"
        Resource  = "*"
      }],
      [for s in each.value.services : local.service_statements[s]],
    )
  })

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}

resource "aws_kms_alias" "this" {
  for_each = var.keys

  name          = "alias/${var.name_prefix}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
