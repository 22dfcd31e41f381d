output "alarm_topic_arn" {
  description = "SNS topic of the critical alerts (the one topic of earlier versions)."
  value       = aws_sns_topic.alerts["critical"].arn
}

output "alert_topic_arns" {
  description = "SNS topic by severity: critical, warning, info."
  value       = { for k, t in aws_sns_topic.alerts : k => t.arn }
}

output "alarm_names" {
  description = "Names of the metric alarms."
  value       = concat([for a in aws_cloudwatch_metric_alarm.this : a.alarm_name], [aws_cloudwatch_metric_alarm.error_rate.alarm_name])
}

output "dashboard_name" {
  description = "CloudWatch dashboard name."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
