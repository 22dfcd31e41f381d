terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, key, region, dynamodb_table/use_lockfile and encrypt come from
  # envs/<env>.backend.hcl (`terraform init -backend-config=envs/<env>.backend.hcl`).
  backend "s3" {}
}
