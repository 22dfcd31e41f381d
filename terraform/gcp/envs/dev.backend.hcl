bucket = "billing-platform-terraform-state"
prefix = "dev/state"
