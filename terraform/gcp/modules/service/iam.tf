# The service's own identity: no default compute service account, only what the app needs.
resource "google_service_account" "this" {
  account_id   = "${var.name_prefix}-run"
  project      = var.project_id
  display_name = "Cloud Run service ${var.name_prefix}"
}

resource "google_secret_manager_secret_iam_member" "access" {
  for_each = var.secret_ids

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.this.member
}

resource "google_project_iam_member" "this" {
  for_each = toset([
    "roles/cloudsql.client",         # Cloud SQL connectors (IAM-checked connections)
    "roles/cloudtrace.agent",        # request tracing
    "roles/logging.logWriter",       # structured logs
    "roles/monitoring.metricWriter", # custom metrics
    "roles/errorreporting.writer",   # error reports
  ])

  project = var.project_id
  role    = each.value
  member  = google_service_account.this.member
}
