# The candidate path: https://<domain>/__candidate/... reaches the revision tagged "candidate" (the revision a
# rollout creates, before it has any traffic) through the load balancer, the only path the service's ingress
# (INTERNAL_LOAD_BALANCER) lets in from outside; billingops rollout health-checks it there before moving
# traffic. It exists only when candidate_source_ranges names who may use it, and its own Cloud Armor policy
# allows those ranges and denies everyone else: an unreleased revision is never public. Without it the rollout
# gate is the revision's Ready condition (startup probe) and the load balancer after each traffic step.
locals {
  candidate_enabled = length(var.candidate_source_ranges) > 0
  candidate_prefix  = "/__candidate"
}

resource "google_compute_region_network_endpoint_group" "candidate" {
  count                 = local.candidate_enabled ? 1 : 0
  name                  = "${var.name_prefix}-candidate-neg"
  project               = var.project_id
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  # A serverless NEG may name a Cloud Run traffic tag: it then reaches only the revision carrying that tag.
  cloud_run {
    service = google_cloud_run_v2_service.this.name
    tag     = var.candidate_tag
  }
}

resource "google_compute_security_policy" "candidate" {
  count       = local.candidate_enabled ? 1 : 0
  name        = "${var.name_prefix}-candidate-armor"
  project     = var.project_id
  description = "Only the operators' ranges may reach the candidate revision of ${var.name_prefix}"

  # The same Log4j protection as the public policy: the allowed ranges are operators, not a reason to drop it.
  rule {
    action   = "deny(403)"
    priority = 900
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')" # Log4j (CVE-2021-44228)
      }
    }
    description = "Block Log4j exploit attempts"
  }

  rule {
    action   = "allow"
    priority = 1000
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = var.candidate_source_ranges
      }
    }
    description = "Operators running billingops rollout"
  }

  rule {
    action   = "deny(403)"
    priority = 2147483647
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    description = "Default: deny"
  }
}

resource "google_compute_backend_service" "candidate" {
  count                 = local.candidate_enabled ? 1 : 0
  name                  = "${var.name_prefix}-candidate-backend"
  project               = var.project_id
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.candidate[0].id

  backend {
    group = google_compute_region_network_endpoint_group.candidate[0].id
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}
