resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  display_name = "${var.name_prefix} alerts: ${each.value}"
  project      = var.project_id
  type         = "email"
  labels = {
    email_address = each.value
  }
}

resource "google_monitoring_uptime_check_config" "health" {
  display_name = "${var.name_prefix} health"
  project      = var.project_id
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = var.health_check_path
    port         = 443
    use_ssl      = true
    validate_ssl = true
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = var.domain_name
    }
  }
}

locals {
  channels = [for c in google_monitoring_notification_channel.email : c.id]
  run      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${var.service_name}\""
  sql      = "resource.type = \"cloudsql_database\" AND resource.labels.database_id = \"${var.project_id}:${var.database_instance}\""
  # redis_instance's instance_id label carries the full name projects/P/locations/R/instances/I.
  redis = "resource.type = \"redis_instance\" AND resource.labels.instance_id = \"${var.redis_instance_id}\""

  # The seed's alerts. severity CRITICAL pages on-call, WARNING goes to email/Slack.
  threshold_alerts = {
    "critical-db-down" = {
      severity = "CRITICAL", display = "Database down"
      filter   = "${local.sql} AND metric.type = \"cloudsql.googleapis.com/database/up\""
      aligner  = "ALIGN_MIN", comparison = "COMPARISON_LT", threshold = 1, duration = "180s", reducer = null
    }
    "critical-db-storage" = {
      severity = "CRITICAL", display = "Database storage more than 90% full"
      filter   = "${local.sql} AND metric.type = \"cloudsql.googleapis.com/database/disk/utilization\""
      aligner  = "ALIGN_MAX", comparison = "COMPARISON_GT", threshold = 0.9, duration = "300s", reducer = null
    }
    "warning-db-cpu" = {
      severity = "WARNING", display = "Database CPU above 80% for 5 minutes"
      filter   = "${local.sql} AND metric.type = \"cloudsql.googleapis.com/database/cpu/utilization\""
      aligner  = "ALIGN_MEAN", comparison = "COMPARISON_GT", threshold = 0.8, duration = "300s", reducer = null
    }
    "warning-db-memory" = {
      severity = "WARNING", display = "Database memory above 80% for 5 minutes"
      filter   = "${local.sql} AND metric.type = \"cloudsql.googleapis.com/database/memory/utilization\""
      aligner  = "ALIGN_MEAN", comparison = "COMPARISON_GT", threshold = 0.8, duration = "300s", reducer = null
    }
    "warning-app-cpu" = {
      severity = "WARNING", display = "Application CPU above 80% for 5 minutes"
      filter   = "${local.run} AND metric.type = \"run.googleapis.com/container/cpu/utilizations\""
      aligner  = "ALIGN_PERCENTILE_99", comparison = "COMPARISON_GT", threshold = 0.8, duration = "300s", reducer = "REDUCE_MEAN"
    }
    "warning-app-memory" = {
      severity = "WARNING", display = "Application memory above 80% for 5 minutes"
      filter   = "${local.run} AND metric.type = \"run.googleapis.com/container/memory/utilizations\""
      aligner  = "ALIGN_PERCENTILE_99", comparison = "COMPARISON_GT", threshold = 0.8, duration = "300s", reducer = "REDUCE_MEAN"
    }
    "warning-app-p95-latency" = {
      severity = "WARNING", display = "Response time P95 above 1 second"
      filter   = "${local.run} AND metric.type = \"run.googleapis.com/request_latencies\""
      aligner  = "ALIGN_PERCENTILE_95", comparison = "COMPARISON_GT", threshold = 1000, duration = "300s", reducer = "REDUCE_MAX"
    }
    "warning-cache-memory" = {
      severity = "WARNING", display = "Redis memory above 80%"
      filter   = "${local.redis} AND metric.type = \"redis.googleapis.com/stats/memory/usage_ratio\""
      aligner  = "ALIGN_MAX", comparison = "COMPARISON_GT", threshold = 0.8, duration = "300s", reducer = null
    }
  }
}

resource "google_monitoring_alert_policy" "threshold" {
  for_each = local.threshold_alerts

  display_name          = "${var.name_prefix} ${each.value.display}"
  project               = var.project_id
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = local.channels

  conditions {
    display_name = each.value.display
    condition_threshold {
      filter          = each.value.filter
      comparison      = each.value.comparison
      threshold_value = each.value.threshold
      duration        = each.value.duration

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = each.value.aligner
        cross_series_reducer = each.value.reducer
      }

      trigger {
        count = 1
      }
    }
  }

  user_labels = merge(var.labels, { severity = lower(each.value.severity) })
}

# 5xx error rate above 1% of requests.
resource "google_monitoring_alert_policy" "error_rate" {
  display_name          = "${var.name_prefix} 5xx responses above 1% of requests"
  project               = var.project_id
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels

  conditions {
    display_name = "5xx rate > 1%"
    condition_threshold {
      filter             = "${local.run} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "${local.run} AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = 0.01
      duration           = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }

      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  user_labels = merge(var.labels, { severity = "critical" })
}

# Health checks failing from the uptime checkers: the application is down for users.
resource "google_monitoring_alert_policy" "health" {
  display_name          = "${var.name_prefix} health check failing"
  project               = var.project_id
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels

  conditions {
    display_name = "Uptime check failing"
    condition_threshold {
      filter          = "metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type = \"uptime_url\" AND metric.labels.check_id = \"${google_monitoring_uptime_check_config.health.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "120s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }

  user_labels = merge(var.labels, { severity = "critical" })
}

# A Cloud SQL backup that failed (the AWS side's RDS event subscription "backup" category): a log-match condition
# on the instance's error-level backup log entries. Cloud SQL publishes no backup-status metric.
resource "google_monitoring_alert_policy" "backup_failed" {
  display_name          = "${var.name_prefix} database backup failed"
  project               = var.project_id
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels

  conditions {
    display_name = "Cloud SQL backup error"
    condition_matched_log {
      filter = "${local.sql} AND severity >= ERROR AND (protoPayload.methodName:\"backup\" OR textPayload:\"backup\" OR jsonPayload.message:\"backup\")"
    }
  }

  # Log-match conditions require a notification rate limit.
  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
  }

  user_labels = merge(var.labels, { severity = "critical" })
}

resource "google_monitoring_dashboard" "this" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = var.name_prefix
    gridLayout = {
      columns = 2
      widgets = [
        for w in [
          { title = "Requests by response class", filter = "${local.run} AND metric.type = \"run.googleapis.com/request_count\"", aligner = "ALIGN_RATE" },
          { title = "Latency P95", filter = "${local.run} AND metric.type = \"run.googleapis.com/request_latencies\"", aligner = "ALIGN_PERCENTILE_95" },
          { title = "Instances", filter = "${local.run} AND metric.type = \"run.googleapis.com/container/instance_count\"", aligner = "ALIGN_MAX" },
          { title = "Database CPU", filter = "${local.sql} AND metric.type = \"cloudsql.googleapis.com/database/cpu/utilization\"", aligner = "ALIGN_MEAN" },
          { title = "Database disk", filter = "${local.sql} AND metric.type = \"cloudsql.googleapis.com/database/disk/utilization\"", aligner = "ALIGN_MAX" },
          { title = "Redis memory", filter = "${local.redis} AND metric.type = \"redis.googleapis.com/stats/memory/usage_ratio\"", aligner = "ALIGN_MAX" },
          ] : {
          title = w.title
          xyChart = {
            dataSets = [{
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter      = w.filter
                  aggregation = { alignmentPeriod = "60s", perSeriesAligner = w.aligner }
                }
              }
            }]
          }
        }
      ]
    }
  })
}
