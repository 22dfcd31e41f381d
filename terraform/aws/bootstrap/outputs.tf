output "state_bucket" {
  description = "State bucket name."
  value       = aws_s3_bucket.state.id
}

output "lock_table" {
  description = "Lock table name."
  value       = aws_dynamodb_table.lock.name
}

output "kms_key_arn" {
  description = "KMS key of the bucket's default encryption and the lock table."
  value       = aws_kms_key.state.arn
}

output "state_kms_key_arns" {
  description = "KMS key by environment: kms_key_id of ../envs/<env>.backend.hcl."
  value       = { for env, key in aws_kms_key.env : env => key.arn }
}

output "state_access_policy_arns" {
  description = "IAM policy by environment granting that environment's state only: attach to its deploy role."
  value       = { for env, policy in aws_iam_policy.env_state : env => policy.arn }
}
