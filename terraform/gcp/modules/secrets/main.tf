resource "google_secret_manager_secret" "this" {
  for_each = toset(var.secret_names)

  secret_id = "${var.name_prefix}-${replace(lower(each.key), "_", "-")}"
  project   = var.project_id

  # Regional replicas in the stack's region, encrypted with the customer managed key.
  replication {
    user_managed {
      replicas {
        location = var.region
        customer_managed_encryption {
          kms_key_name = var.kms_key_id
        }
      }
    }
  }

  labels = var.labels
}

# Only the managed secrets get a value here; the others stay empty until billingops adds a version.
resource "google_secret_manager_secret_version" "managed" {
  for_each = toset(var.managed_secret_names)

  secret      = google_secret_manager_secret.this[each.key].id
  secret_data = var.managed_secret_values[each.key]
}
