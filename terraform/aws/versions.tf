terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, key, region, encrypt, kms_key_id and use_lockfile come from
  # envs/<env>.backend.hcl (`terraform init -backend-config=envs/<env>.backend.hcl`).
  backend "s3" {}
}
