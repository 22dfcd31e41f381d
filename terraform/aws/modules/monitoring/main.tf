# One topic per severity, as the infrastructure README routes them: critical pages on-call (PagerDuty's HTTPS
# endpoint), warning goes to email/Slack, info (deployments, scaling, maintenance) goes separately.
locals {
  severities = toset(["critical", "warning", "info"])

  subscriptions = merge(
    # alert_emails receive critical and warning, as they did when there was one topic
    { for pair in setproduct(["critical", "warning"], var.alert_emails) : "${pair[0]}/email/${pair[1]}" => {
      severity = pair[0], protocol = "email", endpoint = pair[1]
    } },
    merge([for severity, subs in var.alert_subscriptions : {
      for sub in subs : "${severity}/${sub.protocol}/${sub.endpoint}" => merge(sub, { severity = severity })
    }]...),
  )
}

resource "aws_sns_topic" "alerts" {
  for_each = local.severities

  name              = "${var.name_prefix}-alerts-${each.key}"
  kms_master_key_id = var.kms_key_arn

  tags = merge(var.tags, { Severity = each.key })
}

moved {
  from = aws_sns_topic.alarms
  to   = aws_sns_topic.alerts["critical"]
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.subscriptions

  topic_arn = aws_sns_topic.alerts[each.value.severity].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# Replaces the default topic policy: the account keeps managing and using the topic, and the AWS services that
# raise the seed's alerts and notifications (CloudWatch alarms, EventBridge, RDS events) may publish to it.
data "aws_iam_policy_document" "topic" {
  for_each = local.severities

  statement {
    sid = "AccountOwner"
    actions = [
      "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
      "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish",
    ]
    resources = [aws_sns_topic.alerts[each.key].arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "AllowAlertSources"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "events.rds.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  for_each = local.severities

  arn    = aws_sns_topic.alerts[each.key].arn
  policy = data.aws_iam_policy_document.topic[each.key].json
}

# Info notifications of the seed: deployments (completed, failed, rolled back) and ECS service actions
# (steady state, scaling, task placement problems).
resource "aws_cloudwatch_event_rule" "ecs" {
  count = var.enable_deployment_events && local.info_notifications ? 1 : 0

  name        = "${var.name_prefix}-ecs-events"
  description = "Deployments and service actions of ${var.ecs_service_name}"
  event_pattern = jsonencode({
    source      = ["aws.ecs"]
    detail-type = ["ECS Deployment State Change", "ECS Service Action"]
    resources   = [var.ecs_service_arn]
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "ecs" {
  count = var.enable_deployment_events && local.info_notifications ? 1 : 0

  rule = aws_cloudwatch_event_rule.ecs[0].name
  arn  = aws_sns_topic.alerts["info"].arn
}

# Database down, failover, backup failures and storage events straight from RDS (critical); its maintenance
# events are info.
resource "aws_db_event_subscription" "database" {
  count = var.enable_db_event_subscription ? 1 : 0

  name             = "${var.name_prefix}-rds-events"
  sns_topic        = aws_sns_topic.alerts["critical"].arn
  source_type      = "db-instance"
  source_ids       = [var.db_instance_identifier]
  event_categories = ["availability", "backup", "failover", "failure", "low storage", "recovery"]

  tags = var.tags
}

resource "aws_db_event_subscription" "maintenance" {
  count = var.enable_db_event_subscription && local.info_notifications ? 1 : 0

  name             = "${var.name_prefix}-rds-maintenance"
  sns_topic        = aws_sns_topic.alerts["info"].arn
  source_type      = "db-instance"
  source_ids       = [var.db_instance_identifier]
  event_categories = ["maintenance"]

  tags = var.tags
}

locals {
  alb_dimensions = { LoadBalancer = var.load_balancer_arn_suffix }
  tg_dimensions  = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  ecs_dimensions = { ClusterName = var.ecs_cluster_name, ServiceName = var.ecs_service_name }
  db_dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }

  # The seed's alerts. The key's first word is the severity and picks the topic: "critical" pages on-call,
  # "warning" goes to email/Slack.
  alarms = merge(
    {
      "critical-app-all-unhealthy" = {
        description = "No healthy application task behind the load balancer"
        namespace   = "AWS/ApplicationELB", metric = "HealthyHostCount", statistic = "Minimum"
        dimensions  = local.tg_dimensions, comparison = "LessThanThreshold", threshold = 1
        periods     = 2, period = 60, missing = "breaching"
      }
      "warning-app-unhealthy-hosts" = {
        description = "Failed health checks: at least one unhealthy task"
        namespace   = "AWS/ApplicationELB", metric = "UnHealthyHostCount", statistic = "Maximum"
        dimensions  = local.tg_dimensions, comparison = "GreaterThanThreshold", threshold = 0
        periods     = 3, period = 60, missing = "notBreaching"
      }
      "warning-app-p95-latency" = {
        description = "Response time P95 above 1 second"
        namespace   = "AWS/ApplicationELB", metric = "TargetResponseTime", extended_statistic = "p95"
        dimensions  = local.alb_dimensions, comparison = "GreaterThanThreshold", threshold = 1
        periods     = 5, period = 60, missing = "notBreaching"
      }
      "warning-app-cpu" = {
        description = "Application CPU above 80% for 5 minutes"
        namespace   = "AWS/ECS", metric = "CPUUtilization", statistic = "Average"
        dimensions  = local.ecs_dimensions, comparison = "GreaterThanThreshold", threshold = 80
        periods     = 5, period = 60, missing = "missing"
      }
      "warning-app-memory" = {
        description = "Application memory above 80% for 5 minutes"
        namespace   = "AWS/ECS", metric = "MemoryUtilization", statistic = "Average"
        dimensions  = local.ecs_dimensions, comparison = "GreaterThanThreshold", threshold = 80
        periods     = 5, period = 60, missing = "missing"
      }
      # RDS stops publishing metrics when the instance is down: missing data counts as down.
      "critical-db-down" = {
        description = "Database down (no metrics from the instance)"
        namespace   = "AWS/RDS", metric = "DatabaseConnections", statistic = "SampleCount"
        dimensions  = local.db_dimensions, comparison = "LessThanThreshold", threshold = 1
        periods     = 3, period = 60, missing = "breaching"
      }
      "critical-db-storage" = {
        description = "Database storage more than 90% full"
        namespace   = "AWS/RDS", metric = "FreeStorageSpace", statistic = "Minimum"
        dimensions  = local.db_dimensions, comparison = "LessThanThreshold"
        threshold   = var.db_allocated_storage_gib * 1073741824 * 0.1
        periods     = 2, period = 300, missing = "missing"
      }
      "warning-db-cpu" = {
        description = "Database CPU above 80% for 5 minutes"
        namespace   = "AWS/RDS", metric = "CPUUtilization", statistic = "Average"
        dimensions  = local.db_dimensions, comparison = "GreaterThanThreshold", threshold = 80
        periods     = 5, period = 60, missing = "missing"
      }
    },
    var.cache_id == null ? {} : {
      "warning-cache-cpu" = {
        description = "Redis engine CPU above 80% for 5 minutes"
        namespace   = "AWS/ElastiCache", metric = "EngineCPUUtilization", statistic = "Average"
        dimensions  = { ReplicationGroupId = var.cache_id }, comparison = "GreaterThanThreshold", threshold = 80
        periods     = 5, period = 60, missing = "missing"
      }
      "warning-cache-memory" = {
        description = "Redis memory above 80% for 5 minutes"
        namespace   = "AWS/ElastiCache", metric = "DatabaseMemoryUsagePercentage", statistic = "Average"
        dimensions  = { ReplicationGroupId = var.cache_id }, comparison = "GreaterThanThreshold", threshold = 80
        periods     = 5, period = 60, missing = "missing"
      }
    },
  )
}

# The infrastructure README's monitoring per environment: enhanced (prod) = every alarm and the info
# notifications; basic (staging) = every alarm; minimal (dev) = the critical alarms only.
locals {
  info_notifications = var.level == "enhanced"
  enabled_alarms     = { for k, v in local.alarms : k => v if var.level != "minimal" || startswith(k, "critical-") }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.enabled_alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = lookup(each.value, "statistic", null)
  extended_statistic  = lookup(each.value, "extended_statistic", null)
  dimensions          = each.value.dimensions
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  evaluation_periods  = each.value.periods
  period              = each.value.period
  treat_missing_data  = each.value.missing
  alarm_actions       = [aws_sns_topic.alerts[split("-", each.key)[0]].arn]
  ok_actions          = [aws_sns_topic.alerts[split("-", each.key)[0]].arn]

  tags = merge(var.tags, { Severity = split("-", each.key)[0] })
}

# 5xx error rate above 1% of requests: metric math over the load balancer's counts.
resource "aws_cloudwatch_metric_alarm" "error_rate" {
  alarm_name          = "${var.name_prefix}-critical-app-5xx-rate"
  alarm_description   = "5xx responses above 1% of requests"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 1
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts["critical"].arn]
  ok_actions          = [aws_sns_topic.alerts["critical"].arn]

  metric_query {
    id = "rate"
    # FILL(m, 0): a metric with no datapoint in a period (no target answered 5xx because no target answered at
    # all; the load balancer's own 502/503) counts as 0 instead of blanking the whole expression.
    expression  = "100 * (FILL(errors_target, 0) + FILL(errors_elb, 0)) / MAX([FILL(requests, 0), 1])"
    label       = "5xx rate (%)"
    return_data = true
  }

  metric_query {
    id = "errors_target"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.alb_dimensions
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "errors_elb"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = local.alb_dimensions
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.alb_dimensions
      period      = 60
      stat        = "Sum"
    }
  }

  tags = merge(var.tags, { Severity = "critical" })
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix

  dashboard_body = jsonencode({
    widgets = [
      for i, w in [
        { title = "Requests and 5xx", metrics = [
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.load_balancer_arn_suffix, { stat = "Sum" }],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.load_balancer_arn_suffix, { stat = "Sum" }],
        ] },
        { title = "Response time P95", metrics = [
          ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.load_balancer_arn_suffix, { stat = "p95" }],
        ] },
        { title = "Application CPU / memory", metrics = [
          ["AWS/ECS", "CPUUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name],
          ["AWS/ECS", "MemoryUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name],
        ] },
        { title = "Healthy tasks", metrics = [
          ["AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", var.target_group_arn_suffix, "LoadBalancer", var.load_balancer_arn_suffix],
        ] },
        { title = "Database CPU / connections", metrics = [
          ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_identifier],
          ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_identifier],
        ] },
        { title = "Database free storage", metrics = [
          ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.db_instance_identifier],
        ] },
        ] : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = w.title
          region  = var.region
          metrics = w.metrics
          view    = "timeSeries"
          period  = 60
        }
      }
    ]
  })
}
