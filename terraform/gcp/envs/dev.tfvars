environment           = "dev"
project_id            = "billing-platform-dev"
region                = "us-central1"
multi_az              = false
backup_retention_days = 1
deletion_protection   = false
min_capacity          = 0
max_capacity          = 3

domain_name = "billing.dev.example.com"
image       = "us-central1-docker.pkg.dev/billing-platform-dev/billing-dev/billing-platform:v1.0.0"

cpu                         = "1"
memory                      = "512Mi"
db_tier                     = "db-custom-1-3840"
db_disk_size_gb             = 10
db_disk_autoresize_limit_gb = 50
redis_memory_size_gb        = 1
