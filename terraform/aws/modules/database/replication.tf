# Optional cross-region copy of the automated backups (the seed's "cross-region replication"), for restores
# after a regional failure. The aws.replica provider points at var.backup_replica_region.
resource "aws_kms_key" "replica" {
  count    = var.backup_replica_region == null ? 0 : 1
  provider = aws.replica

  description             = "${local.identifier} backup replicas"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = var.tags
}

resource "aws_db_instance_automated_backups_replication" "this" {
  count    = var.backup_replica_region == null ? 0 : 1
  provider = aws.replica

  source_db_instance_arn = aws_db_instance.this.arn
  kms_key_id             = aws_kms_key.replica[0].arn
  retention_period       = var.backup_retention_days
}
