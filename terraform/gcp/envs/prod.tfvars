environment           = "prod"
project_id            = "billing-platform-prod"
region                = "us-central1"
multi_az              = true
backup_retention_days = 30
deletion_protection   = true
min_capacity          = 2
max_capacity          = 10

domain_name = "billing.example.com"
alert_email = "oncall@example.com"
image       = "us-central1-docker.pkg.dev/billing-platform-prod/billing-prod/billing-platform:v1.0.0"

cpu                         = "2"
memory                      = "2Gi"
db_tier                     = "db-custom-2-7680"
db_disk_size_gb             = 100
db_disk_autoresize_limit_gb = 500
redis_memory_size_gb        = 4
