# Remote state for terraform/gcp: the GCS bucket named in ../envs/<env>.backend.hcl. GCS locks natively.
# Applied once with local state (`terraform init && terraform apply`), before the first environment.

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.location
}

resource "google_storage_bucket" "state" {
  # checkov:skip=CKV_GCP_62: access to the state bucket is recorded by Cloud Audit Logs (data access), not bucket logs
  name                        = var.state_bucket
  location                    = var.location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
    }
    action {
      type = "Delete"
    }
  }

  labels = {
    service    = "billing-platform"
    managed-by = "terraform"
    purpose    = "terraform-state"
  }

  lifecycle {
    prevent_destroy = true # holds the state of every environment
  }
}
