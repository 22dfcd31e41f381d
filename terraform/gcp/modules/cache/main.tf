resource "google_redis_instance" "this" {
  name           = "${var.name_prefix}-redis"
  project        = var.project_id
  region         = var.region
  display_name   = "Redis for ${var.name_prefix}"
  redis_version  = var.redis_version
  tier           = var.multi_az ? "STANDARD_HA" : "BASIC"
  memory_size_gb = var.memory_size_gb

  authorized_network = var.network_id
  connect_mode       = "PRIVATE_SERVICE_ACCESS"

  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  customer_managed_key    = var.kms_key_id

  # STANDARD_HA keeps one replica for automatic failover. Read replicas stay off: Google requires 5 GB or more
  # for them and prod runs 4 GB; with them off, 1 is the only valid replica_count.
  replica_count      = var.multi_az ? 1 : null
  read_replicas_mode = "READ_REPLICAS_DISABLED"

  persistence_config {
    persistence_mode    = "RDB"
    rdb_snapshot_period = "TWELVE_HOURS"
  }

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 5
        minutes = 30
      }
    }
  }

  redis_configs = {
    maxmemory-policy = "volatile-lru"
  }

  labels = var.labels
}

# REDIS_URL, written write-only: this copy of the AUTH string does not enter state. The instance's own
# auth_string attribute does (Memorystore for Redis returns it as a computed attribute and has no IAM
# authentication; see terraform/README.md).
resource "google_secret_manager_secret_version" "redis_url" {
  secret                 = var.redis_url_secret_id
  secret_data_wo         = format("rediss://:%s@%s:%d/0", google_redis_instance.this.auth_string, google_redis_instance.this.host, google_redis_instance.this.port)
  secret_data_wo_version = var.redis_url_version
}
