# Remote state for terraform/gcp: the GCS bucket named in ../envs/<env>.backend.hcl, encrypted with customer
# managed keys: one per environment (the backend's kms_encryption_key, so each environment's state object is
# encrypted with its own key), the bucket's default key for anything else. GCS locks natively.
# Applied once with local state (`terraform init && terraform apply`), before the first environment.

terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.location
}

# Cloud Storage encrypts with the project's Cloud Storage service agent: it must hold the key before the bucket
# names it (data source: the agent exists for every project with the storage API enabled).
data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

# Key rings and keys cannot be deleted in Cloud KMS; the names are fixed because the backend configs name them.
resource "google_kms_key_ring" "state" {
  name     = "billing-terraform-state"
  project  = var.project_id
  location = lower(var.location) # a multi-region bucket (US) needs a key in the matching KMS location (us)
}

resource "google_kms_crypto_key" "state" {
  # checkov:skip=CKV_GCP_82: prevent_destroy is set in the lifecycle block below (checkov reads only a literal)
  for_each = toset(concat(["default"], var.environments))

  name            = "terraform-state-${each.key}"
  key_ring        = google_kms_key_ring.state.id
  rotation_period = "7776000s" # 90 days
  purpose         = "ENCRYPT_DECRYPT"

  lifecycle {
    prevent_destroy = true # without it the state cannot be read
  }
}

resource "google_kms_crypto_key_iam_member" "gcs" {
  for_each = google_kms_crypto_key.state

  crypto_key_id = each.value.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
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

  encryption {
    default_kms_key_name = google_kms_crypto_key.state["default"].id
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

  depends_on = [google_kms_crypto_key_iam_member.gcs]
}

# The per-environment boundary: a principal listed for one environment may read and write objects under
# <env>/ only (state and its .tflock), by an IAM condition on the object name, and list the bucket's object names
# (the backend lists <env>/ for workspaces; listing needs no object access). Encryption with the environment's
# key is done by the Cloud Storage service agent, so the principals need no KMS role.
locals {
  state_members = merge([for env, members in var.state_members : {
    for member in members : "${env}/${member}" => { env = env, member = member }
  }]...)
}

resource "google_storage_bucket_iam_member" "env_objects" {
  for_each = local.state_members

  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectUser"
  member = each.value.member

  condition {
    title      = "terraform-state-${each.value.env}"
    expression = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.state.name}/objects/${each.value.env}/\")"
  }
}

resource "google_storage_bucket_iam_member" "env_list" {
  for_each = toset([for m in values(local.state_members) : m.member])

  bucket = google_storage_bucket.state.name
  role   = "roles/storage.legacyBucketReader"
  member = each.value
}
