"""Issue 15's GCP points, one static check each (no google provider can run here; test_google_schema checks the
attribute names against the provider's field lists)."""

from __future__ import annotations

import re

import pytest

from .conftest import ENVS, TERRAFORM, Module, tfvars

GCP = Module(TERRAFORM / "gcp")


def _resources(module: Module, rtype: str) -> dict[str, dict]:
    return {name: body for parsed in module.files.values() for block in parsed.get("resource", [])
            for kind, named in block.items() if kind == rtype for name, body in named.items()}


@pytest.mark.parametrize("env", ENVS)
def test_memorystore_read_replicas_only_with_5_gb(env):
    redis = _resources(GCP.child("modules/cache"), "google_redis_instance")["this"]
    mode = redis["read_replicas_mode"]
    memory = tfvars("gcp", env).get("redis_memory_size_gb", GCP.variables["redis_memory_size_gb"].get("default"))
    assert mode == "READ_REPLICAS_DISABLED" or memory >= 5, f"{env}: read replicas need 5 GB or more"


def test_service_agents_exist_before_their_key_grants():
    identities = _resources(GCP, "google_project_service_identity")["agents"]
    assert identities["provider"] in ("google-beta", "${google-beta}")
    services = GCP.files[TERRAFORM / "gcp" / "main.tf"]["locals"][0]["agent_services"]
    assert set(services.values()) == {"sqladmin.googleapis.com", "redis.googleapis.com",
                                      "secretmanager.googleapis.com", "artifactregistry.googleapis.com"}
    # the grants name the identities' members (a dependency), not a formatted address
    assert "google_project_service_identity.agents" in GCP.text
    assert "gcp-sa-cloud-sql.iam.gserviceaccount.com" not in GCP.text
    # no resource receives a key id before the grant on it exists
    output = GCP.child("modules/kms").outputs["key_ids"]
    assert "google_kms_crypto_key_iam_member.encrypters" in output["depends_on"][0]


def test_key_ring_name_carries_a_suffix():
    ring = _resources(GCP.child("modules/kms"), "google_kms_key_ring")["this"]
    assert ring["name"] == "${var.key_ring}"
    assert GCP.module_calls["kms"]["key_ring"] == "${local.name_prefix}-${var.kms_key_ring_suffix}"
    assert "409" in GCP.variables["kms_key_ring_suffix"]["description"]


def test_every_api_the_module_uses_is_enabled():
    services = _resources(GCP, "google_project_service")["this"]["for_each"]
    enabled = set(re.findall(r"([a-z]+\.googleapis\.com)", services))
    assert {"iam.googleapis.com", "cloudresourcemanager.googleapis.com", "servicenetworking.googleapis.com",
            "compute.googleapis.com", "run.googleapis.com", "sqladmin.googleapis.com", "redis.googleapis.com",
            "secretmanager.googleapis.com", "cloudkms.googleapis.com", "artifactregistry.googleapis.com",
            "monitoring.googleapis.com"} <= enabled
    # Direct VPC egress: no Serverless VPC Access connector, so vpcaccess is not needed
    assert "google_vpc_access_connector" not in GCP.text and "vpc_access" in GCP.child("modules/service").text


def test_public_service_needs_no_all_users_binding():
    service = GCP.child("modules/service")
    run = _resources(service, "google_cloud_run_v2_service")["this"]
    assert run["invoker_iam_disabled"] is True
    assert "allUsers" not in re.sub(r"#.*", "", service.text)


def test_destroy_finishes():
    connection = _resources(GCP.child("modules/network"), "google_service_networking_connection")["this"]
    assert connection["deletion_policy"] == "ABANDON"
    user = _resources(GCP.child("modules/database"), "google_sql_user")["this"]
    assert user["deletion_policy"] == "ABANDON"


def test_redis_alerts_filter_on_the_label_the_metric_carries():
    assert GCP.module_calls["monitoring"]["redis_instance_id"] == "${module.cache.resource_id}"
    assert GCP.child("modules/cache").outputs["resource_id"]["value"] == "${google_redis_instance.this.id}"


def test_database_backup_failure_alerts():
    alert = _resources(GCP.child("modules/monitoring"), "google_monitoring_alert_policy")["backup_failed"]
    assert alert["severity"] == "CRITICAL"
    assert "local.sql" in alert["conditions"][0]["condition_matched_log"][0]["filter"]


def test_no_credential_reaches_state_through_the_modules():
    database = GCP.child("modules/database")
    user = _resources(database, "google_sql_user")["this"]
    assert "password" not in user and user["password_wo"].startswith("${ephemeral.random_password.")
    assert "random_password" not in {t for parsed in database.files.values()
                                     for block in parsed.get("resource", []) for t in block}
    for module in ("modules/database", "modules/cache", "modules/secrets"):
        for name, version in _resources(GCP.child(module), "google_secret_manager_secret_version").items():
            assert "secret_data" not in version and "secret_data_wo" in version, f"{module}: {name}"


def test_state_objects_are_bounded_per_environment():
    bootstrap = Module(TERRAFORM / "gcp" / "bootstrap")
    objects = _resources(bootstrap, "google_storage_bucket_iam_member")["env_objects"]
    assert objects["role"] == "roles/storage.objectUser"
    expression = objects["condition"][0]["expression"]
    assert "resource.name.startsWith" in expression and "/objects/${each.value.env}/" in expression


def test_health_gate_uses_what_the_ingress_allows():
    """The run.app URLs refuse outside requests (ingress: load balancer only), so billingops gates a revision on
    its Ready condition, which Cloud Run sets only once the startup probe on the health path passed, and then
    on the load balancer's URL after each traffic step (tests/services/rollout/test_gcp_rollout.py)."""
    from billingops.clouds import HEALTH_URL_OUTPUT

    run = _resources(GCP.child("modules/service"), "google_cloud_run_v2_service")["this"]
    assert run["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    probe = run["template"][0]["containers"][0]["startup_probe"][0]
    assert probe["http_get"][0]["path"] == "${var.health_check_path}"
    # a rollout copies the service's template, probe included: terraform must own the probe (not ignored)
    ignored = " ".join(run["lifecycle"][0]["ignore_changes"])
    assert "startup_probe" not in ignored and "template[0].containers[0].image" in ignored
    assert GCP.outputs["load_balancer_url"]["value"] == "https://${var.domain_name}"
    assert HEALTH_URL_OUTPUT["gcp"] == "load_balancer_url"
    assert "not" in GCP.outputs["service_url"]["description"]  # says it is not the health URL


def test_candidate_path_routes_the_tagged_revision_to_allowed_ranges_only():
    """Optional (candidate_source_ranges): /__candidate/* on the load balancer reaches the revision billingops
    tags "candidate", through a serverless NEG naming the tag, behind a Cloud Armor allowlist."""
    from billingops.clouds.gcp.rollout import CANDIDATE_TAG

    service = GCP.child("modules/service")
    neg = _resources(service, "google_compute_region_network_endpoint_group")["candidate"]
    assert neg["cloud_run"][0]["tag"] == "${var.candidate_tag}"
    assert neg["cloud_run"][0]["service"] == "${google_cloud_run_v2_service.this.name}"
    assert service.variables["candidate_tag"]["default"] == CANDIDATE_TAG
    assert neg["network_endpoint_type"] == "SERVERLESS" and "local.candidate_enabled" in neg["count"]

    backend = _resources(service, "google_compute_backend_service")["candidate"]
    assert backend["security_policy"] == "${google_compute_security_policy.candidate[0].id}"
    armor = _resources(service, "google_compute_security_policy")["candidate"]
    rules = {rule["priority"]: rule for rule in armor["rule"]}
    assert rules[1000]["action"] == "allow"
    assert rules[1000]["match"][0]["config"][0]["src_ip_ranges"] == "${var.candidate_source_ranges}"
    assert rules[2147483647]["action"] == "deny(403)"  # everyone else
    assert "0.0.0.0/0" in GCP.variables["candidate_source_ranges"]["validation"][0]["condition"]
    assert GCP.variables["candidate_source_ranges"]["default"] == []  # off unless ranges are given

    url_map = _resources(service, "google_compute_url_map")["https"]
    matcher = next(d["path_matcher"] for d in url_map["dynamic"] if "path_matcher" in d)
    rule = matcher["content"][0]["path_rule"][0]
    assert rule["paths"] == ["${local.candidate_prefix}/*"]
    assert rule["service"] == "${google_compute_backend_service.candidate[0].id}"
    assert rule["route_action"][0]["url_rewrite"][0]["path_prefix_rewrite"] == "/"
    assert "/__candidate" in service.text and GCP.module_calls["service"]["candidate_source_ranges"] == \
        "${var.candidate_source_ranges}"
    assert "https://${var.domain_name}${local.candidate_prefix}" in service.outputs["candidate_url"]["value"]
    assert GCP.outputs["candidate_url"]["value"] == "${module.service.candidate_url}"
