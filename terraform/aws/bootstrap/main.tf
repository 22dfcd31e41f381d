# Remote state for terraform/aws: the S3 bucket named in ../envs/<env>.backend.hcl, one key prefix, one KMS key and
# one IAM policy per environment (the boundary: a principal given billing-terraform-state-dev can neither read nor
# decrypt prod/), and the DynamoDB lock table kept for teams still on dynamodb_table locking (the backends now use
# S3 native locking, `use_lockfile = true`). Applied once per account with local state (`terraform init &&
# terraform apply`), before the first environment; commit nothing of its local state.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      service    = "billing-platform"
      managed-by = "terraform"
      purpose    = "terraform-state"
    }
  }
}

resource "aws_kms_key" "state" {
  description             = "Terraform state of the billing platform (bucket default and lock table)"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  # The AWS default key policy, explicit: the account's IAM policies decide who uses the key.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EnableIAMUserPermissions"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_kms_alias" "state" {
  name          = "alias/billing-terraform-state"
  target_key_id = aws_kms_key.state.key_id
}

# One key per environment: the backend's kms_key_id (../envs/<env>.backend.hcl), so each state object is encrypted
# with its environment's key and only that environment's policy may decrypt it.
resource "aws_kms_key" "env" {
  for_each = toset(var.environments)

  description             = "Terraform state of the billing platform, ${each.key}"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EnableIAMUserPermissions"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })

  lifecycle {
    prevent_destroy = true # without it the state of the environment cannot be read
  }
}

resource "aws_kms_alias" "env" {
  for_each = toset(var.environments)

  name          = "alias/billing-terraform-state-${each.key}"
  target_key_id = aws_kms_key.env[each.key].key_id
}

# What terraform (and billingops) needs on one environment's state and nothing of the others: the objects under
# <env>/ (state and its .tflock lock object), that environment's key, and the legacy lock table's items for
# <bucket>/<env>/ (billingops unlock of a DynamoDB lock left from before use_lockfile).
data "aws_iam_policy_document" "env_state" {
  for_each = toset(var.environments)

  statement {
    sid       = "ListOwnPrefix"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${each.key}/*"]
    }
  }

  statement {
    sid       = "ReadWriteOwnState"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.state.arn}/${each.key}/*"]
  }

  statement {
    sid       = "ReleaseOwnLock"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/${each.key}/*.tflock"]
  }

  statement {
    sid       = "UseOwnKey"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.env[each.key].arn]
  }

  statement {
    sid       = "LegacyLockItems"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.lock.arn]
    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["${var.state_bucket}/${each.key}/*"]
    }
  }
}

resource "aws_iam_policy" "env_state" {
  for_each = toset(var.environments)

  name        = "billing-terraform-state-${each.key}"
  description = "Terraform state of the billing platform's ${each.key} environment only"
  policy      = data.aws_iam_policy_document.env_state[each.key].json
}

resource "aws_s3_bucket" "state" {
  # checkov:skip=CKV_AWS_18: access logs of the state bucket go to the organisation's log-archive account (CloudTrail data events)
  # checkov:skip=CKV_AWS_144: state is small and versioned; cross-region copies are left to the organisation's backup plan
  # checkov:skip=CKV2_AWS_62: nothing consumes state-change events; CloudTrail records every write
  bucket = var.state_bucket

  lifecycle {
    prevent_destroy = true # holds the state of every environment
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "state_tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
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

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_tls_only.json
}

resource "aws_dynamodb_table" "lock" {
  name         = var.lock_table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.state.arn
  }

  deletion_protection_enabled = true

  lifecycle {
    prevent_destroy = true # remove it deliberately once no team locks with dynamodb_table any more
  }
}
