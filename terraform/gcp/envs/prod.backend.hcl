bucket = "billing-platform-terraform-state"
prefix = "prod/state"
