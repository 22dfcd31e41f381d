terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.50"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7, >= 3.7.1" # 3.7.1: ephemeral random_password
    }
  }

  # Partial configuration: bucket, prefix and kms_encryption_key come from envs/<env>.backend.hcl
  # (`terraform init -backend-config=envs/<env>.backend.hcl`). GCS locks natively.
  backend "gcs" {}
}
