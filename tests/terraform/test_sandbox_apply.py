"""terraform/aws applied for real against a moto server with the real AWS provider (the billingops sandbox):
apply, no credential in the state, a second plan with no changes, destroy."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest

from billingops.sandbox.override import moto_server_command, render_aws_provider_override
from tests.support.ports import free_port, wait_for_port
from tests.support.terraform import find_provider_mirror, terraform_binary

from .conftest import TERRAFORM, terraform_env

log = logging.getLogger(__name__)

REGION = "us-east-1"
VAR_FILES = ["-var-file", "envs/dev.tfvars", "-var-file", "envs/sandbox.tfvars"]


@pytest.fixture
def extended_moto(tmp_path):
    """moto server started the way the sandbox starts it: moto_server_command, managed policies loaded."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "MOTO_ECS_SERVICE_RUNNING": "1",
                "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    with (tmp_path / "moto.log").open("wb") as out:
        proc = subprocess.Popen(moto_server_command("127.0.0.1", port), env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _credentials_in_moto(endpoint: str) -> dict[str, str]:
    """Every password the apply wrote to Secrets Manager (read back from moto), by where it was found."""
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id="test", aws_secret_access_key="test")
    found = {}
    for secret in client.list_secrets()["SecretList"]:
        try:
            value = client.get_secret_value(SecretId=secret["ARN"])["SecretString"]
        except client.exceptions.ResourceNotFoundException:
            continue  # created empty (app secrets billingops seeds later)
        if value.startswith("{"):
            password = json.loads(value).get("password")
        else:
            password = urlsplit(value).password
        if password:
            found[secret["Name"]] = password
    return found


def assert_no_credential_in_state(endpoint: str, workdir: Path, env: dict[str, str]) -> None:
    credentials = _credentials_in_moto(endpoint)
    show = _terraform(["show", "-json"], workdir, env, 120)
    assert show.returncode == 0, show.stderr
    raw_state = (workdir / "terraform.tfstate").read_text()
    for name, password in credentials.items():
        assert len(password) >= 32, name
        assert password not in show.stdout, f"the password of {name} is in `terraform show -json`"
        assert password not in raw_state, f"the password of {name} is in terraform.tfstate"

    state = json.loads(show.stdout)
    resources = [r for m in _modules(state["values"]["root_module"]) for r in m.get("resources", [])]
    for resource in resources:
        values = resource.get("values", {})
        for attribute in ("password", "secret_string", "auth_token", "master_password", "result"):
            value = values.get(attribute)
            if resource["type"] == "aws_secretsmanager_secret_version" and attribute == "secret_string":
                # only plain values (REDIS_URL without a password) may be stored
                assert not value or not urlsplit(value).password, resource["address"]
                continue
            assert not value, f"{resource['address']}.{attribute} is stored in state"

    names = {name.rsplit("/", 1)[-1] for name in credentials}
    # The master, the application role and DATABASE_URL (whose password is the application role's).
    assert {"master", "app", "DATABASE_URL"} <= names, f"expected credentials not written: {sorted(credentials)}"
    by_suffix = {name.rsplit("/", 1)[-1]: value for name, value in credentials.items()}
    assert by_suffix["DATABASE_URL"] == by_suffix["app"], "DATABASE_URL and rds/app disagree on the password"
    assert by_suffix["master"] != by_suffix["app"]


def _modules(module: dict) -> list[dict]:
    return [module, *[m for child in module.get("child_modules", []) for m in _modules(child)]]


def _terraform(args: list[str], workdir: Path, env: dict[str, str],
               timeout: float) -> subprocess.CompletedProcess:
    started = time.monotonic()
    proc = subprocess.run([terraform_binary(), *args, "-no-color"], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=timeout)
    log.info("terraform %s: exit %s in %.0f s", args[0], proc.returncode, time.monotonic() - started)
    return proc


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_aws_module_applies_replans_clean_and_destroys_on_moto(extended_moto, tf_cli_config, tmp_path):
    if find_provider_mirror() is None:
        pytest.skip("no offline provider mirror (registry.terraform.io) on this machine")
    workdir = tmp_path / "aws"
    shutil.copytree(TERRAFORM / "aws", workdir, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    (workdir / "sandbox_override.tf").write_text(render_aws_provider_override(extended_moto, REGION))
    (workdir / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    env = terraform_env(tf_cli_config)

    init = _terraform(["init", "-input=false"], workdir, env, 300)
    assert init.returncode == 0, init.stdout + init.stderr

    try:
        apply = _terraform(["apply", "-auto-approve", "-input=false", *VAR_FILES], workdir, env, 900)
        assert apply.returncode == 0, apply.stdout[-8000:] + apply.stderr

        outputs = _terraform(["output", "-json"], workdir, env, 60)
        assert '"service_name"' in outputs.stdout and '"DATABASE_URL"' in outputs.stdout

        assert_no_credential_in_state(extended_moto, workdir, env)

        plan = _terraform(["plan", "-detailed-exitcode", "-input=false", *VAR_FILES], workdir, env, 600)
        assert plan.returncode == 0, "second plan is not empty:\n" + plan.stdout[-8000:] + plan.stderr
    finally:
        destroy = _terraform(["destroy", "-auto-approve", "-input=false", *VAR_FILES], workdir, env, 900)
    assert destroy.returncode == 0, destroy.stdout[-8000:] + destroy.stderr
    state = _terraform(["state", "list"], workdir, env, 60)
    assert state.stdout.strip() == "", f"resources left after destroy:\n{state.stdout}"
