provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = local.labels
}

# google_project_service_identity (the Google service agents) exists only in google-beta.
provider "google-beta" {
  project = var.project_id
  region  = var.region
}
