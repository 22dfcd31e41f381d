output "state_bucket" {
  description = "State bucket name."
  value       = aws_s3_bucket.state.id
}

output "lock_table" {
  description = "Lock table name."
  value       = aws_dynamodb_table.lock.name
}

output "kms_key_arn" {
  description = "KMS key encrypting the state (add kms_key_id to the backend config to use it for new objects)."
  value       = aws_kms_key.state.arn
}
