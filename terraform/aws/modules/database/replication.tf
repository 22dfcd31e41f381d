# Optional cross-region copy of the automated backups (the seed's "cross-region replication"), for restores
# after a regional failure. The aws.replica provider points at var.backup_replica_region.
resource "aws_kms_key" "replica" {
  count    = var.backup_replica_region == null ? 0 : 1
  provider = aws.replica

  description             = "${local.identifier} backup replicas"
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

  tags = var.tags
}

resource "aws_db_instance_automated_backups_replication" "this" {
  count    = var.backup_replica_region == null ? 0 : 1
  provider = aws.replica

  source_db_instance_arn = aws_db_instance.this.arn
  kms_key_id             = aws_kms_key.replica[0].arn
  retention_period       = var.backup_retention_days
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
