# Layered over dev.tfvars by `billingops deploy --env dev --sandbox` (moto server). Each switch leaves out only
# what moto does not emulate; see "Sandbox gaps" in terraform/README.md. Never use this file against AWS.
enable_cache                  = false # CreateCacheParameterGroup missing; replication group never completes
enable_autoscaling            = false # Application Auto Scaling tag calls answer HTTP 500
enable_db_parameter_group     = false # parameters read back differently: perpetual diff
enable_performance_insights   = false # settings read back differently: perpetual diff
enable_certificate_validation = false # the certificate stays PENDING_VALIDATION forever
db_monitoring_interval        = 0     # enhanced monitoring interval is not stored: perpetual diff
kms_deletion_window_days      = 7
monitoring_level              = "enhanced" # dev is minimal; the sandbox applies every alarm and notification
