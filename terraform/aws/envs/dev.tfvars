environment           = "dev"
region                = "us-east-1"
availability_zones    = ["us-east-1a", "us-east-1b"]
multi_az              = false
backup_retention_days = 1
deletion_protection   = false
final_snapshot        = false
min_capacity          = 1 # ECS behind a load balancer cannot scale to zero (GCP dev uses 0)
max_capacity          = 3

domain_name = "billing.dev.example.com"
image       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-dev:v1.0.0"

vpc_cidr                    = "10.22.0.0/16"
task_cpu                    = 256
task_memory                 = 512
db_instance_class           = "db.t3.micro"
db_allocated_storage        = 20
db_max_allocated_storage    = 50
cache_node_type             = "cache.t3.micro"
log_retention_days          = 14
db_monitoring_interval      = 60
secret_recovery_window_days = 0
monitoring_level            = "minimal"
