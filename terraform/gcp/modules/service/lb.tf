resource "google_compute_global_address" "this" {
  name    = "${var.name_prefix}-lb"
  project = var.project_id
}

resource "google_compute_region_network_endpoint_group" "this" {
  name                  = "${var.name_prefix}-neg"
  project               = var.project_id
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloud_run_v2_service.this.name
  }
}

resource "google_compute_security_policy" "this" {
  name        = "${var.name_prefix}-armor"
  project     = var.project_id
  description = "Cloud Armor policy of ${var.name_prefix}: OWASP rules and Log4j protection"

  rule {
    action   = "deny(403)"
    priority = 1000
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')" # Log4j (CVE-2021-44228)
      }
    }
    description = "Block Log4j exploit attempts"
  }

  rule {
    action   = "deny(403)"
    priority = 1100
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1})"
      }
    }
    description = "Block SQL injection"
  }

  rule {
    action   = "deny(403)"
    priority = 1200
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('xss-v33-stable', {'sensitivity': 1})"
      }
    }
    description = "Block cross-site scripting"
  }

  rule {
    action   = "allow"
    priority = 2147483647
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    description = "Default: allow"
  }
}

resource "google_compute_backend_service" "this" {
  name                  = "${var.name_prefix}-backend"
  project               = var.project_id
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.this.id

  backend {
    group = google_compute_region_network_endpoint_group.this.id
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

resource "google_compute_url_map" "https" {
  name            = "${var.name_prefix}-https"
  project         = var.project_id
  default_service = google_compute_backend_service.this.id

  # With the candidate path (candidate.tf): /__candidate/* goes to the tagged revision, "/__candidate" cut off.
  dynamic "host_rule" {
    for_each = local.candidate_enabled ? [var.domain_name] : []
    content {
      hosts        = [host_rule.value]
      path_matcher = "api"
    }
  }

  dynamic "path_matcher" {
    for_each = local.candidate_enabled ? ["api"] : []
    content {
      name            = path_matcher.value
      default_service = google_compute_backend_service.this.id

      path_rule {
        paths   = ["${local.candidate_prefix}/*"]
        service = google_compute_backend_service.candidate[0].id
        route_action {
          url_rewrite {
            path_prefix_rewrite = "/"
          }
        }
      }
    }
  }
}

resource "google_compute_managed_ssl_certificate" "this" {
  name    = "${var.name_prefix}-cert"
  project = var.project_id

  managed {
    domains = [var.domain_name]
  }

  lifecycle {
    create_before_destroy = true
  }
}

# TLS 1.2 is the lowest the MODERN profile accepts; TLS 1.3 is negotiated whenever the client offers it.
resource "google_compute_ssl_policy" "this" {
  name            = "${var.name_prefix}-tls"
  project         = var.project_id
  profile         = "RESTRICTED"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "this" {
  name             = "${var.name_prefix}-https"
  project          = var.project_id
  url_map          = google_compute_url_map.https.id
  ssl_certificates = [google_compute_managed_ssl_certificate.this.id]
  ssl_policy       = google_compute_ssl_policy.this.id
}

resource "google_compute_global_forwarding_rule" "https" {
  name                  = "${var.name_prefix}-https"
  project               = var.project_id
  target                = google_compute_target_https_proxy.this.id
  ip_address            = google_compute_global_address.this.id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

# Port 80 only redirects to HTTPS.
resource "google_compute_url_map" "http_redirect" {
  name    = "${var.name_prefix}-http-redirect"
  project = var.project_id

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  name    = "${var.name_prefix}-http-redirect"
  project = var.project_id
  url_map = google_compute_url_map.http_redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  name                  = "${var.name_prefix}-http"
  project               = var.project_id
  target                = google_compute_target_http_proxy.redirect.id
  ip_address            = google_compute_global_address.this.id
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}
