output "repository_url" {
  description = "Docker repository URL (<region>-docker.pkg.dev/<project>/<name>)."
  value       = "${google_artifact_registry_repository.this.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}

output "repository_id" {
  description = "Repository resource id."
  value       = google_artifact_registry_repository.this.id
}
