bucket = "billing-platform-terraform-state"
prefix = "staging/state"
