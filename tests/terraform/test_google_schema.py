"""Every attribute and block that terraform/gcp sets exists in the Google provider (no provider binary can run
here): checked against the provider's own field lists (google_provider_meta/, vendored from the source tag that
versions.tf allows), so a misspelt or removed argument fails here instead of at a first `terraform plan`."""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest
import yaml

from .conftest import TERRAFORM

META = Path(__file__).parent / "google_provider_meta"
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}

# Fields checked by hand in the v6.50.0 source, where the meta file lags or does not exist.
SUPPLEMENT = {
    # google/services/sql/resource_sql_user.go:117,126 (write-only password, v6.50.0)
    "google_sql_user": {"password_wo", "password_wo_version"},
    # artifactregistry/resource_artifact_registry_repository.go:232 (the set's key; the meta file lists the
    # policies as cleanup_policies.cleanup_policies.*, the API's map-of-objects shape)
    "google_artifact_registry_repository": {"cleanup_policies.id"},
    # google/tpgiamresource/resource_iam_member.go:63-100 + each parent's IAM schema
    "google_project_iam_member": {"project", "role", "member", "condition.title", "condition.expression",
                                  "condition.description"},  # resourcemanager/iam_project.go:31
    "google_kms_crypto_key_iam_member": {"crypto_key_id", "role", "member", "condition.title",
                                         "condition.expression", "condition.description"},  # kms/iam_kms_crypto_key.go:32
    "google_secret_manager_secret_iam_member": {"project", "secret_id", "role", "member",
                                                "condition"},  # secretmanager/iam_secret_manager_secret.go:35,41
    "google_storage_bucket_iam_member": {"bucket", "role", "member", "condition.title", "condition.expression",
                                         "condition.description"},  # storage/iam_storage_bucket.go:34
}
# mmv1 meta files list API fields only, not the URL parameter `project` that every project-scoped generated
# resource takes: checked (`"project": {` in each resource_<name>.go at v6.50.0) for these.
PROJECT_ARGUMENT = {
    "google_artifact_registry_repository", "google_cloud_run_v2_service", "google_compute_backend_service",
    "google_compute_firewall", "google_compute_global_address", "google_compute_global_forwarding_rule",
    "google_compute_managed_ssl_certificate", "google_compute_network", "google_compute_region_network_endpoint_group",
    "google_compute_ssl_policy", "google_compute_subnetwork", "google_compute_target_http_proxy",
    "google_compute_target_https_proxy", "google_compute_url_map", "google_kms_key_ring",
    "google_monitoring_alert_policy", "google_monitoring_notification_channel", "google_monitoring_uptime_check_config",
    "google_redis_instance", "google_secret_manager_secret", "google_sql_database",
}
DATA_SOURCES = {
    "google_project": {"project_id"},  # resourcemanager/data_source_google_project.go:32
    "google_storage_project_service_account": {"project"},  # storage/data_source_google_storage_project_service_account.go:31
}


def _strip(name: str) -> str:
    return name[1:-1] if name.startswith('"') and name.endswith('"') else name


def _fields(resource_type: str) -> set[str]:
    path = META / f"{resource_type}.yaml"
    fields = set(SUPPLEMENT.get(resource_type, set()))
    if resource_type in PROJECT_ARGUMENT:
        fields.add("project")
    if path.exists():
        meta = yaml.safe_load(path.read_text())
        assert meta["resource"] == resource_type
        fields |= {_collapse(f["field"]) for f in meta["fields"]}
    return fields


def _collapse(field: str) -> str:
    """a.a.b -> a.b: mmv1 writes a map-of-objects API field keyed in terraform by a set as name.name.*"""
    parts = field.split(".")
    return ".".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])


def _paths(body: dict, prefix: str = "") -> set[tuple[str, bool]]:
    """(dotted path, is_block) of every attribute and nested block set in a resource body."""
    found = set()
    for key, value in body.items():
        if key.startswith("__") or (not prefix and key in META_ARGUMENTS):
            continue
        if key == "dynamic":
            for dyn in value:
                for name, spec in dyn.items():
                    name = _strip(name)
                    found.add((prefix + name, True))
                    for content in spec.get("content", []):
                        found |= _paths(content, f"{prefix}{name}.")
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) and v.get("__is_block__") for v in value):
            found.add((prefix + key, True))
            for block in value:
                found |= _paths(block, f"{prefix}{key}.")
        else:
            found.add((prefix + key, False))
    return found


def _blocks(kind: str) -> list[tuple[Path, str, str, dict]]:
    out = []
    for path in sorted((TERRAFORM / "gcp").rglob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get(kind, []):
            for rtype, named in block.items():
                for name, body in named.items():
                    if _strip(rtype).startswith("google"):
                        out.append((path, _strip(rtype), _strip(name), body))
    return out


RESOURCES = _blocks("resource")


def test_every_used_resource_type_has_a_field_list():
    missing = sorted({rtype for _, rtype, _, _ in RESOURCES if not _fields(rtype)})
    assert missing == [], f"vendor the meta file of {missing} (see google_provider_meta/NOTICE.md)"


@pytest.mark.parametrize("path,rtype,name,body", RESOURCES,
                         ids=[f"{r}.{n}" for _, r, n, _ in RESOURCES])
def test_resource_sets_only_fields_the_provider_has(path, rtype, name, body):
    fields = _fields(rtype)
    for dotted, is_block in sorted(_paths(body)):
        if is_block:
            ok = dotted in fields or any(f.startswith(dotted + ".") for f in fields)
        else:
            # a map attribute (labels, redis_configs) is listed by its own name
            ok = dotted in fields
        assert ok, f"{path.relative_to(TERRAFORM)}: {rtype}.{name} sets {dotted!r}, unknown to the provider"


@pytest.mark.parametrize("path,rtype,name,body", _blocks("data"), ids=lambda v: v if isinstance(v, str) else "")
def test_data_sources_set_only_known_arguments(path, rtype, name, body):
    for dotted, _ in _paths(body):
        assert dotted in DATA_SOURCES[rtype], f"data.{rtype}.{name} sets {dotted!r}"


def test_the_check_catches_a_misspelt_argument():
    fields = _fields("google_redis_instance")
    assert "read_replicas_mode" in fields and "read_replica_mode" not in fields
    assert ("persistence_config.persistence_mode", False) in _paths(
        {"persistence_config": [{"persistence_mode": "RDB", "__is_block__": True}]})
