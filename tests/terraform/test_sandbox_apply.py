"""terraform/aws applied for real against a moto server with the real AWS provider (the billingops sandbox):
apply, a second plan with no changes, destroy."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

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
    shutil.copytree(TERRAFORM / "aws", workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
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

        plan = _terraform(["plan", "-detailed-exitcode", "-input=false", *VAR_FILES], workdir, env, 600)
        assert plan.returncode == 0, "second plan is not empty:\n" + plan.stdout[-8000:] + plan.stderr
    finally:
        destroy = _terraform(["destroy", "-auto-approve", "-input=false", *VAR_FILES], workdir, env, 900)
    assert destroy.returncode == 0, destroy.stdout[-8000:] + destroy.stderr
    state = _terraform(["state", "list"], workdir, env, 60)
    assert state.stdout.strip() == "", f"resources left after destroy:\n{state.stdout}"
