resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57: the URLs are rewritten by terraform when credentials change; app secrets (Stripe keys) are rotated at the issuer and seeded by billingops
  for_each = toset(var.secret_names)

  name                    = "${var.name_prefix}/${each.key}"
  description             = "${each.key} of ${var.name_prefix}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

# Only values that carry no credential are written here (they are stored in terraform state): REDIS_URL, whose
# password is an IAM token made at connect time. Credentials are written by the module that makes them, through
# write-only attributes (DATABASE_URL: the database module). The others stay empty until billingops adds a version.
resource "aws_secretsmanager_secret_version" "plain" {
  for_each = toset(var.plain_secret_names)

  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = var.plain_secret_values[each.key]
}
