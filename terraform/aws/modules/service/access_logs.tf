# Access logs of the load balancer, to a bucket this module creates unless var.access_logs_bucket names one
# (a log-archive account's). Elastic Load Balancing writes access logs only with SSE-S3 (not SSE-KMS).
data "aws_caller_identity" "current" {}

# The regional Elastic Load Balancing account (regions before August 2022); newer regions use the log delivery
# service principal. Both are granted; the provider computes the account locally (no API call).
data "aws_elb_service_account" "this" {}

locals {
  create_access_logs_bucket = var.enable_access_logs && var.access_logs_bucket == null
  access_logs_bucket        = local.create_access_logs_bucket ? aws_s3_bucket.access_logs[0].id : var.access_logs_bucket
}

resource "aws_s3_bucket" "access_logs" {
  # checkov:skip=CKV_AWS_18: this is the log bucket; logging its own access would need another bucket without end
  # checkov:skip=CKV_AWS_144: access logs are kept for log_retention_days in-region; cross-region copies are the organisation's log-archive concern
  # checkov:skip=CKV_AWS_145: Elastic Load Balancing writes access logs only to SSE-S3 buckets (SSE-KMS is refused)
  # checkov:skip=CKV2_AWS_62: nothing consumes access-log object events; they are read with Athena
  count = local.create_access_logs_bucket ? 1 : 0

  bucket        = "${var.name_prefix}-alb-logs-${data.aws_caller_identity.current.account_id}-${var.region}"
  force_destroy = !var.deletion_protection # prod keeps its logs: destroy fails until they are moved

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  count = local.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  count = local.create_access_logs_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.access_logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  count = local.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  count = local.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count = local.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "access_logs" {
  count = local.create_access_logs_bucket ? 1 : 0

  statement {
    sid       = "ElbAccountWritesLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs[0].arn}/${var.name_prefix}/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.this.arn]
    }
  }

  statement {
    sid       = "LogDeliveryWritesLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs[0].arn}/${var.name_prefix}/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.access_logs[0].arn,
      "${aws_s3_bucket.access_logs[0].arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  count = local.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  policy = data.aws_iam_policy_document.access_logs[0].json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}
