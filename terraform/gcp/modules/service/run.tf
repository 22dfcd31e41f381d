locals {
  container_name = "app"
}

resource "google_cloud_run_v2_service" "this" {
  name                = var.name_prefix
  project             = var.project_id
  location            = var.region
  deletion_protection = var.deletion_protection

  # Only the load balancer (and, through it, Cloud Armor) may reach the service.
  ingress = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"

  # The public API is open to all behind the load balancer: the invoker check is off instead of granting
  # roles/run.invoker to allUsers, which the domain-restricted-sharing organisation policy refuses.
  invoker_iam_disabled = true

  template {
    service_account                  = google_service_account.this.email
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    max_instance_request_concurrency = var.concurrency
    timeout                          = "60s"

    scaling {
      min_instance_count = var.min_capacity
      max_instance_count = var.max_capacity
    }

    # Direct VPC egress: private ranges (Cloud SQL, Memorystore) through the VPC, the rest directly.
    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = var.network_id
        subnetwork = var.subnet_id
      }
    }

    containers {
      name  = local.container_name
      image = var.image

      ports {
        container_port = var.container_port
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = var.environment_variables
        content {
          name  = env.key
          value = env.value
        }
      }

      # Every secret arrives as an environment variable of the same name (latest version at revision start).
      dynamic "env" {
        for_each = var.secret_ids
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      startup_probe {
        http_get {
          path = var.health_check_path
        }
        period_seconds    = 5
        failure_threshold = 12
      }

      liveness_probe {
        http_get {
          path = var.health_check_path
        }
        period_seconds = 15
      }
    }

    labels = var.labels
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  labels = var.labels

  lifecycle {
    # `billingops rollout` owns the serving image and the traffic split: it deploys a tagged revision with no
    # traffic, health-checks it and then moves traffic (or rolls back). An apply must not undo that.
    ignore_changes = [
      template[0].containers[0].image,
      template[0].revision,
      traffic,
      client,
      client_version,
    ]
  }

  depends_on = [google_secret_manager_secret_iam_member.access]
}
