locals {
  name_prefix = "billing-${var.environment}"

  labels = {
    environment = var.environment
    service     = "billing-platform"
    managed-by  = "terraform"
  }

  # Google service agents that encrypt our data with the customer managed keys. They exist only once
  # google_project_service_identity created them (a fresh project has none until the API is first used), so the
  # KMS grants reference the identities, not a formatted e-mail address.
  agent_services = {
    sql       = "sqladmin.googleapis.com"
    redis     = "redis.googleapis.com"
    secrets   = "secretmanager.googleapis.com"
    artifacts = "artifactregistry.googleapis.com"
  }
  agents = { for k, identity in google_project_service_identity.agents : k => identity.member }
}

data "google_project" "this" {
  project_id = var.project_id
}

resource "google_project_service" "this" {
  # Every API the module calls. Cloud Run uses Direct VPC egress, so no Serverless VPC Access connector (vpcaccess).
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudresourcemanager.googleapis.com", # project IAM members, google_project
    "compute.googleapis.com",
    "containerscanning.googleapis.com", # vulnerability scan of every pushed image
    "iam.googleapis.com",               # the service's service account
    "logging.googleapis.com",           # log-based backup-failure alert
    "monitoring.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_project_service_identity" "agents" {
  provider = google-beta
  for_each = local.agent_services

  project = var.project_id
  service = each.value

  depends_on = [google_project_service.this]
}

module "kms" {
  source = "./modules/kms"

  project_id  = var.project_id
  region      = var.region
  name_prefix = local.name_prefix
  key_ring    = "${local.name_prefix}-${var.kms_key_ring_suffix}"
  keys = {
    sql       = { encrypters = [local.agents.sql] }
    redis     = { encrypters = [local.agents.redis] }
    secrets   = { encrypters = [local.agents.secrets] }
    artifacts = { encrypters = [local.agents.artifacts] }
  }
  labels = local.labels

  depends_on = [google_project_service.this]
}

module "network" {
  source = "./modules/network"

  project_id            = var.project_id
  region                = var.region
  name_prefix           = local.name_prefix
  subnet_cidr           = var.subnet_cidr
  private_services_cidr = var.private_services_cidr

  depends_on = [google_project_service.this]
}

module "registry" {
  source = "./modules/registry"

  project_id = var.project_id
  region     = var.region
  name       = local.name_prefix
  kms_key_id = module.kms.key_ids["artifacts"]
  labels     = local.labels
}

module "database" {
  source = "./modules/database"

  project_id               = var.project_id
  region                   = var.region
  name_prefix              = local.name_prefix
  network_id               = module.network.network_id
  tier                     = var.db_tier
  disk_size_gb             = var.db_disk_size_gb
  disk_autoresize_limit_gb = var.db_disk_autoresize_limit_gb
  multi_az                 = var.multi_az
  backup_retention_days    = var.backup_retention_days
  backup_location          = var.backup_location
  deletion_protection      = var.deletion_protection
  kms_key_id               = module.kms.key_ids["sql"]
  database_name            = var.database_name
  username                 = var.database_username
  app_username             = var.database_app_username
  master_password_version  = var.db_master_password_version
  app_password_version     = var.db_app_password_version
  database_url_secret_id   = module.secrets.secret_ids["DATABASE_URL"]
  database_ca_cert_path    = var.database_ca_cert_path
  secrets_kms_key_id       = module.kms.key_ids["secrets"]
  labels                   = local.labels

  depends_on = [module.network]
}

module "cache" {
  source = "./modules/cache"

  project_id     = var.project_id
  region         = var.region
  name_prefix    = local.name_prefix
  network_id     = module.network.network_id
  memory_size_gb = var.redis_memory_size_gb
  multi_az       = var.multi_az
  kms_key_id     = module.kms.key_ids["redis"]
  labels         = local.labels

  redis_url_secret_id = module.secrets.secret_ids["REDIS_URL"]

  depends_on = [module.network]
}

module "secrets" {
  source = "./modules/secrets"

  project_id   = var.project_id
  region       = var.region
  name_prefix  = local.name_prefix
  secret_names = concat(["DATABASE_URL", "REDIS_URL"], var.app_secret_names)
  kms_key_id   = module.kms.key_ids["secrets"]
  labels       = local.labels
}

module "service" {
  source = "./modules/service"

  project_id            = var.project_id
  region                = var.region
  name_prefix           = local.name_prefix
  network_id            = module.network.network_id
  subnet_id             = module.network.subnet_id
  image                 = var.image
  container_port        = var.container_port
  cpu                   = var.cpu
  memory                = var.memory
  min_capacity          = var.min_capacity
  max_capacity          = var.max_capacity
  environment_variables = { APP_ENV = var.environment }
  secret_ids            = module.secrets.secret_ids
  domain_name           = var.domain_name
  deletion_protection   = var.deletion_protection
  labels                = local.labels

  candidate_source_ranges = var.candidate_source_ranges
}

module "monitoring" {
  source = "./modules/monitoring"

  project_id        = var.project_id
  name_prefix       = local.name_prefix
  alert_emails      = var.alert_email == "" ? [] : [var.alert_email]
  domain_name       = var.domain_name
  service_name      = module.service.service_name
  database_instance = module.database.instance_name
  redis_instance_id = module.cache.resource_id
  labels            = local.labels

  depends_on = [google_project_service.this]
}
