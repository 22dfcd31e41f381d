provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

# Region of the optional cross-region backup copies; the same as var.region when they are off.
provider "aws" {
  alias  = "replica"
  region = coalesce(var.backup_replica_region, var.region)

  default_tags {
    tags = local.tags
  }
}
