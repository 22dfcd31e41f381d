output "service_name" {
  description = "Cloud Run service name."
  value       = google_cloud_run_v2_service.this.name
}

output "service_url" {
  description = "run.app URL of the Cloud Run service: ingress refuses requests from outside Google (load balancer only), so it is not the health URL (load_balancer_url is)."
  value       = google_cloud_run_v2_service.this.uri
}

output "container_name" {
  description = "Name of the application container."
  value       = local.container_name
}

output "service_account_email" {
  description = "Service account of the service."
  value       = google_service_account.this.email
}

output "load_balancer_ip" {
  description = "Global IP of the load balancer (the domain's A record)."
  value       = google_compute_global_address.this.address
}

output "backend_service_name" {
  description = "Backend service name (monitoring label)."
  value       = google_compute_backend_service.this.name
}

output "candidate_url" {
  description = "Load balancer URL of the revision tagged candidate_tag (https://<domain>/__candidate), or \"\" without candidate_source_ranges."
  value       = local.candidate_enabled ? "https://${var.domain_name}${local.candidate_prefix}" : ""
}
