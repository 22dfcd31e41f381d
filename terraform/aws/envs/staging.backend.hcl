bucket       = "billing-platform-terraform-state"
key          = "staging/terraform.tfstate"
region       = "us-east-1"
encrypt      = true
kms_key_id   = "arn:aws:kms:us-east-1:123456789012:alias/billing-terraform-state-staging" # bootstrap output state_kms_key_arns
use_lockfile = true # S3 native lock (<key>.tflock); dynamodb_table is deprecated since Terraform 1.11
