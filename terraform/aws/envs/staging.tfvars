environment           = "staging"
region                = "us-east-1"
availability_zones    = ["us-east-1a", "us-east-1b"]
multi_az              = false
backup_retention_days = 7
deletion_protection   = false
final_snapshot        = false
min_capacity          = 1
max_capacity          = 5

domain_name = "billing.staging.example.com"
alert_email = "billing-alerts@example.com"
image       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-staging:v1.0.0"

vpc_cidr                 = "10.21.0.0/16"
task_cpu                 = 512
task_memory              = 1024
db_instance_class        = "db.t3.small"
db_allocated_storage     = 20
db_max_allocated_storage = 100
cache_node_type          = "cache.t3.small"
log_retention_days       = 30
db_monitoring_interval   = 60
monitoring_level         = "basic"
