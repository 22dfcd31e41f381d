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

# No value is written here: DATABASE_URL and REDIS_URL get theirs write-only from the database and cache modules
# (never stored in state); the app secrets stay empty until billingops adds a version.
