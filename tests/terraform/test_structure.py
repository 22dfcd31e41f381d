"""The structure of the bundled HCL, parsed with python-hcl2: declared variables, module interfaces, tfvars,
backend configs, provider pins, outputs billingops reads and module READMEs. Runs for both clouds (the GCP
provider is not available offline, so this is its main check)."""

from __future__ import annotations

import re

import pytest

from .conftest import CLOUDS, ENVS, TERRAFORM, Module, load_hcl, module_dirs, tfvars

META_ARGUMENTS = {"source", "version", "providers", "count", "for_each", "depends_on"}

SHARED_VARIABLES = {
    "environment", "multi_az", "backup_retention_days", "deletion_protection", "min_capacity", "max_capacity",
    "region", "image", "domain_name", "app_secret_names", "alert_email", "database_name", "database_username",
    "container_port",
}

SHARED_OUTPUTS = {
    "environment", "region", "service_name", "load_balancer_url", "database_instance", "database_endpoint",
    "database_port", "database_name", "database_username", "redis_endpoint", "redis_port", "cache_id",
    "secret_ids", "image_repository_url",
}
CLOUD_OUTPUTS = {
    "aws": {"ecs_cluster_name", "task_definition_family", "container_name", "alarm_topic_arn",
            "private_subnet_ids", "app_security_group_id"},
    "gcp": {"project_id", "service_url", "database_connection_name", "candidate_url"},
}

_FULL_LINE_COMMENT = re.compile(r"^\s*(#|//).*$", re.M)


def _references(module: Module, kind: str) -> set[str]:
    code = _FULL_LINE_COMMENT.sub("", module.text)
    return set(re.findall(rf"\b{kind}\.([A-Za-z_][A-Za-z0-9_-]*)", code))


def _locals(module: Module) -> set[str]:
    return {name for parsed in module.files.values() for block in parsed.get("locals", []) for name in block}


MODULES = module_dirs()
IDS = [str(p.relative_to(TERRAFORM)) for p in MODULES]


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_every_reference_is_declared(path):
    module = Module(path)
    assert _references(module, "var") - set(module.variables) == set(), "var.X used but not declared"
    assert _references(module, "local") - _locals(module) == set(), "local.X used but not defined"
    calls = set(module.module_calls)
    assert _references(module, "module") - calls == set(), "module.X used but not called"


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_variables_are_typed_described_and_secrets_have_no_default(path):
    for name, body in Module(path).variables.items():
        assert "type" in body, f"variable {name} has no type"
        assert body.get("description"), f"variable {name} has no description"
        if body.get("sensitive") is True:
            assert "default" not in body, f"sensitive variable {name} has a default"


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_versions_pin_terraform_and_providers(path):
    module = Module(path)
    blocks = [b for parsed in module.files.values() for b in parsed.get("terraform", [])]
    assert blocks, "no terraform block"
    # 1.11: ephemeral resources, write-only attributes and the S3 backend's use_lockfile
    assert any(b.get("required_version") == ">= 1.11" for b in blocks)
    providers = [p for b in blocks for group in b.get("required_providers", []) for p in group.values()]
    assert providers, "no required_providers"
    for provider in providers:
        assert provider["version"].startswith("~> "), provider


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_module_calls_match_child_interfaces(path):
    module = Module(path)
    for name, call in module.module_calls.items():
        child = module.child(call["source"])
        arguments = set(call) - META_ARGUMENTS
        declared = set(child.variables)
        required = {v for v, body in child.variables.items() if "default" not in body}
        assert arguments - declared == set(), f"module.{name} passes undeclared variables"
        assert required - arguments == set(), f"module.{name} misses required variables"


@pytest.mark.parametrize("path", [p for p in MODULES if "modules" in p.parts], ids=lambda p: p.name)
def test_child_modules_hard_code_no_placement(path):
    """Child modules take regions, accounts and projects as variables."""
    code = _FULL_LINE_COMMENT.sub("", Module(path).text)
    assert not re.search(r'"(us|eu|ap|sa|ca|me|af)-[a-z]+-?[0-9][a-z]?"', code), "hard-coded region"
    assert not re.search(r"\b\d{12}\b", code), "hard-coded AWS account id"


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_every_module_has_a_readme_with_inputs_and_outputs(path):
    readme = path / "README.md"
    assert readme.is_file(), f"{readme} missing"
    text = readme.read_text(encoding="utf-8")
    module = Module(path)
    for name in module.variables:
        assert f"`{name}`" in text, f"input {name} not documented in {readme}"
    for name in module.outputs:
        assert f"`{name}`" in text, f"output {name} not documented in {readme}"


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("env", ENVS)
def test_tfvars_set_only_declared_and_all_required_variables(cloud, env):
    root = Module(TERRAFORM / cloud)
    values = tfvars(cloud, env)
    assert set(values) - set(root.variables) == set(), "tfvars sets undeclared variables"
    required = {v for v, body in root.variables.items() if "default" not in body}
    assert required - set(values) == set(), "tfvars misses required variables"


def test_aws_sandbox_tfvars_only_switch_declared_features():
    root = Module(TERRAFORM / "aws")
    values = load_hcl(TERRAFORM / "aws" / "envs" / "sandbox.tfvars")
    assert set(values) - set(root.variables) == set()
    for name, body in root.variables.items():
        if name.startswith("enable_"):
            assert body.get("default") is True, f"{name} must default to true (on in real accounts)"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_both_clouds_share_the_environment_variable_names(cloud):
    assert SHARED_VARIABLES - set(Module(TERRAFORM / cloud).variables) == set()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_outputs_billingops_reads(cloud):
    outputs = set(Module(TERRAFORM / cloud).outputs)
    assert (SHARED_OUTPUTS | CLOUD_OUTPUTS[cloud]) - outputs == set()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_app_secret_names_default(cloud):
    default = Module(TERRAFORM / cloud).variables["app_secret_names"]["default"]
    assert default == ["SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"]


@pytest.mark.parametrize("cloud,backend", [("aws", "s3"), ("gcp", "gcs")])
def test_backend_is_partial_and_configured_per_environment(cloud, backend):
    versions = load_hcl(TERRAFORM / cloud / "versions.tf")
    backends = [b for block in versions["terraform"] for b in block.get("backend", [])]
    assert backends == [{backend: {}}], "the root's backend block must be partial and empty"
    keys = set()
    for env in ENVS:
        config = load_hcl(TERRAFORM / cloud / "envs" / f"{env}.backend.hcl")
        if cloud == "aws":
            assert {"bucket", "key", "region"} <= set(config)
            assert config.get("encrypt") is True
            assert config.get("use_lockfile") is True and "dynamodb_table" not in config
            assert config.get("kms_key_id"), "without kms_key_id the backend writes with AES256"
            keys.add(config["key"])
        else:
            assert {"bucket", "prefix", "kms_encryption_key"} <= set(config)
            assert config["kms_encryption_key"].endswith(f"/cryptoKeys/terraform-state-{env}")
            keys.add(config["prefix"])
    assert len(keys) == len(ENVS), "environments must not share a state key"


ROOTS = {"aws": "~> 5.100", "aws/bootstrap": "~> 5.100"}


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_root_modules_commit_a_lock_file(root):
    lock = load_hcl(TERRAFORM / root / ".terraform.lock.hcl")
    providers = {name: body for block in lock["provider"] for name, body in block.items()}
    aws = providers["registry.terraform.io/hashicorp/aws"]
    assert aws["constraints"] == ROOTS[root]
    hashes = aws["hashes"]
    # h1: of linux_amd64 (checked by `terraform init -lockfile=readonly` against the mirror in
    # test_format_validate) and the zh: of every platform's release zip, so that macOS and Windows users verify too.
    assert any(h.startswith("h1:") for h in hashes) and sum(h.startswith("zh:") for h in hashes) >= 10

