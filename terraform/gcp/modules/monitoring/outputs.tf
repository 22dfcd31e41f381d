output "alert_policy_names" {
  description = "Alert policy resource names."
  value       = concat([for p in google_monitoring_alert_policy.threshold : p.name], [google_monitoring_alert_policy.error_rate.name, google_monitoring_alert_policy.health.name])
}

output "notification_channel_ids" {
  description = "Notification channel ids."
  value       = local.channels
}
