locals {
  name_prefix = "billing-${var.environment}"

  tags = {
    environment = var.environment
    service     = "billing-platform"
    managed-by  = "terraform"
  }

  # REDIS_URL always exists (billingops reads its id); it only gets a value when there is a cache. It carries no
  # password (IAM authentication), so it may sit in state; DATABASE_URL is written write-only by the database module.
  plain_secret_names = var.enable_cache ? ["REDIS_URL"] : []
}

# The zones are pinned by name (var.availability_zones); the lookup fails the plan if one is not available.
data "aws_availability_zones" "selected" {
  state = "available"

  filter {
    name   = "zone-name"
    values = var.availability_zones
  }
}

data "aws_partition" "current" {}

module "kms" {
  source = "./modules/kms"

  name_prefix = local.name_prefix
  region      = var.region
  keys = {
    data = { description = "database, cache, secrets, images and alarm topic", services = ["alarms"] }
    logs = { description = "CloudWatch log groups", services = ["logs"] }
  }
  deletion_window_in_days = var.kms_deletion_window_days
}

module "network" {
  source = "./modules/network"

  name_prefix            = local.name_prefix
  cidr_block             = var.vpc_cidr
  availability_zones     = [for az in var.availability_zones : az if contains(data.aws_availability_zones.selected.names, az)]
  one_nat_gateway_per_az = var.multi_az
  log_retention_days     = var.log_retention_days
  logs_kms_key_arn       = module.kms.key_arns["logs"]
}

module "registry" {
  source = "./modules/registry"

  name         = local.name_prefix
  kms_key_arn  = module.kms.key_arns["data"]
  force_delete = !var.deletion_protection
}

module "database" {
  source = "./modules/database"
  providers = {
    aws         = aws
    aws.replica = aws.replica
  }

  name_prefix                 = local.name_prefix
  partition                   = data.aws_partition.current.partition
  vpc_id                      = module.network.vpc_id
  subnet_ids                  = module.network.private_subnet_ids
  allowed_security_groups     = { app = module.service.app_security_group_id }
  instance_class              = var.db_instance_class
  allocated_storage           = var.db_allocated_storage
  max_allocated_storage       = var.db_max_allocated_storage
  database_name               = var.database_name
  master_username             = var.database_username
  app_username                = var.database_app_username
  master_password_version     = var.db_master_password_version
  app_password_version        = var.db_app_password_version
  database_url_secret_arn     = module.secrets.secret_arns["DATABASE_URL"]
  database_ca_bundle_path     = var.database_ca_bundle_path
  multi_az                    = var.multi_az
  backup_retention_days       = var.backup_retention_days
  deletion_protection         = var.deletion_protection
  final_snapshot              = var.final_snapshot
  kms_key_arn                 = module.kms.key_arns["data"]
  monitoring_interval         = var.db_monitoring_interval
  enable_parameter_group      = var.enable_db_parameter_group
  enable_performance_insights = var.enable_performance_insights
  backup_replica_region       = var.backup_replica_region
  secret_recovery_window_days = var.secret_recovery_window_days
}

module "cache" {
  source = "./modules/cache"
  count  = var.enable_cache ? 1 : 0

  name_prefix             = local.name_prefix
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  allowed_security_groups = { app = module.service.app_security_group_id }
  node_type               = var.cache_node_type
  multi_az                = var.multi_az
  snapshot_retention_days = var.backup_retention_days
  kms_key_arn             = module.kms.key_arns["data"]
  logs_kms_key_arn        = module.kms.key_arns["logs"]
  log_retention_days      = var.log_retention_days
  final_snapshot          = var.final_snapshot
}

module "secrets" {
  source = "./modules/secrets"

  name_prefix          = local.name_prefix
  secret_names         = concat(["DATABASE_URL", "REDIS_URL"], var.app_secret_names)
  plain_secret_names   = local.plain_secret_names
  plain_secret_values  = var.enable_cache ? { REDIS_URL = module.cache[0].redis_url } : {}
  kms_key_arn          = module.kms.key_arns["data"]
  recovery_window_days = var.secret_recovery_window_days
}

module "service" {
  source = "./modules/service"

  name_prefix                       = local.name_prefix
  region                            = var.region
  partition                         = data.aws_partition.current.partition
  vpc_id                            = module.network.vpc_id
  vpc_cidr_block                    = module.network.vpc_cidr_block
  public_subnet_ids                 = module.network.public_subnet_ids
  private_subnet_ids                = module.network.private_subnet_ids
  image                             = var.image
  container_port                    = var.container_port
  task_cpu                          = var.task_cpu
  task_memory                       = var.task_memory
  environment_variables             = { APP_ENV = var.environment, PORT = tostring(var.container_port) }
  secret_arns                       = module.secrets.secret_arns
  secrets_kms_key_arn               = module.kms.key_arns["data"]
  min_capacity                      = var.min_capacity
  max_capacity                      = var.max_capacity
  domain_name                       = var.domain_name
  route53_zone_id                   = var.route53_zone_id
  access_logs_bucket                = var.alb_access_logs_bucket
  enable_access_logs                = var.enable_alb_access_logs
  deletion_protection               = var.deletion_protection
  log_retention_days                = var.log_retention_days
  logs_kms_key_arn                  = module.kms.key_arns["logs"]
  enable_certificate_validation     = var.enable_certificate_validation
  enable_autoscaling                = var.enable_autoscaling
  enable_deployment_circuit_breaker = var.enable_deployment_circuit_breaker
  enable_waf                        = var.enable_waf
  enable_tracing                    = var.enable_tracing
  # IAM authentication to Redis as the app user (empty without a cache).
  elasticache_connect_arns = var.enable_cache ? [module.cache[0].arn, module.cache[0].user_arns["app"]] : []
}

module "monitoring" {
  source = "./modules/monitoring"

  name_prefix                  = local.name_prefix
  region                       = var.region
  alert_emails                 = var.alert_email == "" ? [] : [var.alert_email]
  alert_subscriptions          = var.alert_subscriptions
  level                        = var.monitoring_level
  kms_key_arn                  = module.kms.key_arns["data"]
  load_balancer_arn_suffix     = module.service.load_balancer_arn_suffix
  target_group_arn_suffix      = module.service.target_group_arn_suffix
  ecs_cluster_name             = module.service.cluster_name
  ecs_service_name             = module.service.service_name
  ecs_service_arn              = module.service.service_arn
  db_instance_identifier       = module.database.identifier
  db_allocated_storage_gib     = var.db_allocated_storage
  cache_id                     = var.enable_cache ? module.cache[0].replication_group_id : null
  enable_db_event_subscription = var.enable_db_event_subscription
  enable_deployment_events     = var.enable_deployment_events
}
