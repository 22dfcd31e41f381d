locals {
  database_tls = var.database_ca_cert_path == "" ? "sslmode=require" : "sslmode=verify-ca&sslrootcert=${var.database_ca_cert_path}"
  # Cloud SQL Enterprise keeps transaction logs (point-in-time recovery) for at most 7 days.
  log_retention_days = min(var.backup_retention_days, 7)
}

# Credentials. No password reaches terraform state: ephemeral random passwords (hashicorp/random >= 3.7, opened
# during plan and apply, never stored) are written only through write-only attributes (`password_wo` of
# google_sql_user, `secret_data_wo` of google_secret_manager_secret_version, google provider >= 6.23). Within one
# apply the ephemeral value is opened once, so the user and the secrets carrying it get the same value. The
# *_password_version inputs are all that state records: bump one to rotate that credential.
#
# The master user serves only migrations and migrate-cloud (`billingops db migrate` reads the -db-master secret);
# the application connects as app_username, a role that a migration run as the master creates with the password of
# the -db-app secret (a google_sql_user would be a cloudsqlsuperuser). DATABASE_URL is the application role's URL.
ephemeral "random_password" "master" {
  length  = 40
  special = false # goes into a postgresql:// URL unescaped
}

ephemeral "random_password" "app" {
  length  = 40
  special = false
}

resource "google_secret_manager_secret" "credential" {
  for_each = toset(["master", "app"])

  secret_id = "${var.name_prefix}-db-${each.key}"
  project   = var.project_id

  replication {
    user_managed {
      replicas {
        location = var.region
        customer_managed_encryption {
          kms_key_name = var.secrets_kms_key_id
        }
      }
    }
  }

  labels = var.labels
}

# The RDS-style JSON layout ({engine, host, port, dbname, username, password}) shared with terraform/aws.
resource "google_secret_manager_secret_version" "master" {
  secret = google_secret_manager_secret.credential["master"].id
  secret_data_wo = jsonencode({
    engine   = "postgres"
    host     = google_sql_database_instance.this.private_ip_address
    port     = 5432
    dbname   = var.database_name
    username = var.username
    password = ephemeral.random_password.master.result
  })
  secret_data_wo_version = var.master_password_version
}

resource "google_secret_manager_secret_version" "app" {
  secret = google_secret_manager_secret.credential["app"].id
  secret_data_wo = jsonencode({
    engine   = "postgres"
    host     = google_sql_database_instance.this.private_ip_address
    port     = 5432
    dbname   = var.database_name
    username = var.app_username
    password = ephemeral.random_password.app.result
  })
  secret_data_wo_version = var.app_password_version
}

# DATABASE_URL: created (empty) by the secrets module, its value written here with the same ephemeral password.
# TLS: the URL connects by private IP, and a per-instance (legacy) Cloud SQL server certificate names the instance
# (project:instance), not the IP, so verify-full cannot match: with the instance's server CA in the image
# (database_ca_cert_path) the URL says verify-ca (chain checked, name not); without it sslmode=require (encrypted,
# certificate not checked). The instance refuses plain connections either way (ssl_mode ENCRYPTED_ONLY).
resource "google_secret_manager_secret_version" "database_url" {
  secret = var.database_url_secret_id
  secret_data_wo = format(
    "postgresql://%s:%s@%s:%d/%s?%s",
    var.app_username, ephemeral.random_password.app.result,
    google_sql_database_instance.this.private_ip_address, 5432, var.database_name, local.database_tls,
  )
  secret_data_wo_version = var.app_password_version
}

resource "google_sql_database_instance" "this" {
  # checkov:skip=CKV_GCP_6: ssl_mode ENCRYPTED_ONLY enforces TLS on every connection; client certificates (TRUSTED_CLIENT_CERTIFICATE_REQUIRED) would have to be distributed to Cloud Run, the password over TLS on the private IP is the chosen control
  # checkov:skip=CKV_GCP_79: the platform is specified on PostgreSQL 15 (the seed); major upgrades are a planned migration, not a default
  name                = "${var.name_prefix}-postgres"
  project             = var.project_id
  region              = var.region
  database_version    = "POSTGRES_15"
  encryption_key_name = var.kms_key_id
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = var.multi_az ? "REGIONAL" : "ZONAL"
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    disk_autoresize_limit       = var.disk_autoresize_limit_gb
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = var.labels

    backup_configuration {
      enabled                        = true
      start_time                     = var.backup_start_time
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = local.log_retention_days
      # Optional cross-region copies: backups stored in another region or multi-region (null = the default).
      location = var.backup_location

      backup_retention_settings {
        retained_backups = var.backup_retention_days
        retention_unit   = "COUNT"
      }
    }

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.network_id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    maintenance_window {
      day          = 7
      hour         = 4
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    # Logging and auditing flags recommended by the CIS benchmark. log_min_duration_statement stays off (-1):
    # statements can carry personal data; slow queries are visible in Query Insights instead.

    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }

    database_flags {
      name  = "log_connections"
      value = "on"
    }

    database_flags {
      name  = "log_disconnections"
      value = "on"
    }

    database_flags {
      name  = "log_duration"
      value = "on"
    }

    database_flags {
      name  = "log_hostname"
      value = "on"
    }

    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }

    database_flags {
      name  = "log_min_messages"
      value = "error"
    }

    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }

    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }

    database_flags {
      name  = "log_temp_files"
      value = "0"
    }

    database_flags {
      name  = "log_statement"
      value = "ddl"
    }

    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }

    dynamic "database_flags" {
      for_each = var.extra_database_flags
      content {
        name  = database_flags.key
        value = database_flags.value
      }
    }
  }
}

resource "google_sql_database" "this" {
  name     = var.database_name
  project  = var.project_id
  instance = google_sql_database_instance.this.name
}

resource "google_sql_user" "this" {
  name                = var.username
  project             = var.project_id
  instance            = google_sql_database_instance.this.name
  password_wo         = ephemeral.random_password.master.result
  password_wo_version = var.master_password_version
  # The master user is the instance's: deleting it first (DROP ROLE fails while it owns objects) would stop
  # destroy; the instance's deletion removes it.
  deletion_policy = "ABANDON"
}
