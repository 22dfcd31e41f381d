terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Partial configuration: bucket and prefix come from envs/<env>.backend.hcl
  # (`terraform init -backend-config=envs/<env>.backend.hcl`). GCS locks natively.
  backend "gcs" {}
}
