environment           = "prod"
region                = "us-east-1"
availability_zones    = ["us-east-1a", "us-east-1b", "us-east-1c"]
multi_az              = true
backup_retention_days = 30
deletion_protection   = true
final_snapshot        = true
min_capacity          = 2
max_capacity          = 10

domain_name = "billing.example.com"
alert_email = "oncall@example.com"
image       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-prod:v1.0.0"

vpc_cidr                 = "10.20.0.0/16"
task_cpu                 = 1024
task_memory              = 2048
db_instance_class        = "db.t3.medium"
db_allocated_storage     = 100
db_max_allocated_storage = 500
cache_node_type          = "cache.t3.medium"
log_retention_days       = 365
db_monitoring_interval   = 15
monitoring_level         = "enhanced"
# Critical alerts page on-call; add the PagerDuty service's CloudWatch integration URL:
# alert_subscriptions = { critical = [{ protocol = "https", endpoint = "https://events.pagerduty.com/integration/<key>/enqueue" }] }
