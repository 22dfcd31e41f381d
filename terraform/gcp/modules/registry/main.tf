resource "google_artifact_registry_repository" "this" {
  repository_id = var.name
  project       = var.project_id
  location      = var.region
  format        = "DOCKER"
  description   = "Images of ${var.name}"
  kms_key_name  = var.kms_key_id

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "604800s"
    }
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_images
    }
  }

  labels = var.labels
}
