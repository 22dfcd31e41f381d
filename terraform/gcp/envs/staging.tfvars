environment           = "staging"
project_id            = "billing-platform-staging"
region                = "us-central1"
multi_az              = false
backup_retention_days = 7
deletion_protection   = false
min_capacity          = 1
max_capacity          = 5

domain_name = "billing.staging.example.com"
alert_email = "billing-alerts@example.com"
image       = "us-central1-docker.pkg.dev/billing-platform-staging/billing-staging/billing-platform:v1.0.0"

cpu                         = "1"
memory                      = "1Gi"
db_tier                     = "db-custom-1-3840"
db_disk_size_gb             = 20
db_disk_autoresize_limit_gb = 100
redis_memory_size_gb        = 1
