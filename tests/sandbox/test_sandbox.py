"""The main job on this machine: `billingops deploy --env dev --sandbox` against moto, end to end."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from billingops.errors import Refused
from billingops.sandbox.emulator import REGION, SandboxInfo, assert_loopback
from tests.support.terraform import terraform_binary
from tests.support.terraform_state import assert_no_credential_in_state


def test_loopback_guard_refuses_remote_endpoints():
    assert_loopback({"moto": "http://127.0.0.1:5000", "other": "http://localhost:1"})
    with pytest.raises(Refused, match="not on loopback"):
        assert_loopback({"AWS_ENDPOINT_URL": "https://s3.amazonaws.com"})


def test_apply_environ_replaces_real_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-session-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.us-east-1.amazonaws.com")
    info = SandboxInfo(root=tmp_path, moto_port=5999, moto_pid=1)
    info.apply_environ()
    assert "AWS_PROFILE" not in os.environ and "AWS_SESSION_TOKEN" not in os.environ
    assert "AWS_ENDPOINT_URL_S3" not in os.environ
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5999"


def test_sandbox_refuses_gcp(tmp_path, run_cli):
    (tmp_path / "billingops.toml").write_text('[environments.dev]\ncloud = "gcp"\n')
    result = run_cli("deploy", "--env", "dev", "--sandbox", "--yes", cwd=tmp_path)
    assert result.returncode == 2
    assert "AWS only" in result.stderr


def _sandbox_terraform(sandbox: Path) -> tuple[dict[str, str], list[str]]:
    """terraform as an operator would run it by hand in the folder the sandbox deploy used: its data dir, CLI
    config and moto endpoint (the provider override and the backend file carry the throwaway credentials)."""
    info = json.loads((sandbox / "sandbox.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update({"TF_DATA_DIR": str(sandbox / "tfdata-dev"), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0",
                "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{info['moto_port']}"})
    if (sandbox / "terraformrc").is_file():
        env["TF_CLI_CONFIG_FILE"] = str(sandbox / "terraformrc")
    var_files = [f"-var-file=envs/{name}.tfvars" for name in ("dev", "sandbox")
                 if (sandbox / "terraform-dev" / "envs" / f"{name}.tfvars").is_file()]
    return env, var_files


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_sandbox_deploy_end_to_end(tmp_path, run_cli):
    """Every step ok or visibly skipped with a reason; the applied state holds no credential; a second plan is
    clean; the module destroys to nothing; `sandbox down` cleans up. The one whole-module apply on moto with the
    real AWS provider in the suite: the deploy's own."""
    env = {"TF_CLI_CONFIG_FILE": str(tmp_path / "missing-terraformrc")}  # the sandbox finds the mirror itself
    try:
        result = run_cli("deploy", "--env", "dev", "--sandbox", "--yes", "--json", cwd=tmp_path, env=env,
                         timeout=1200)
        doc = json.loads(result.stdout)
        steps = {s["name"]: s for s in doc["steps"]}
        assert list(steps) == ["preflight", "init", "plan", "approval", "apply", "secrets", "migrate", "rollout",
                               "verify"]
        for step in steps.values():
            assert step["outcome"] in ("ok", "skipped"), (step, result.stderr[-3000:])
            if step["outcome"] == "skipped":
                assert step["detail"].startswith("skipped in sandbox: "), step
        assert result.returncode == 0
        assert doc["outcome"] == "ok" and doc["sandbox"] is True

        status = json.loads(run_cli("sandbox", "status", "--json", cwd=tmp_path).stdout)
        assert status["status"] == "running" and status["moto_url"].startswith("http://127.0.0.1:")

        doctor = json.loads(run_cli("doctor", "--env", "dev", "--sandbox", "--image", "sandbox", "--json",
                                    cwd=tmp_path, env=env).stdout)
        assert {c["name"]: c["status"] for c in doctor["checks"]}["image"] == "ok", doctor
        missing = run_cli("doctor", "--env", "dev", "--sandbox", "--image", "v9.9.9-missing", "--json", cwd=tmp_path,
                          env=env)
        assert missing.returncode == 1
        image_row = next(c for c in json.loads(missing.stdout)["checks"] if c["name"] == "image")
        assert image_row["status"] == "fail" and "v9.9.9-missing" in image_row["detail"]

        replan = run_cli("plan", "--env", "dev", "--sandbox", "--json", cwd=tmp_path, env=env, timeout=600)
        assert replan.returncode == 0, replan.stderr[-2000:]
        plan = json.loads(replan.stdout)
        assert plan["has_changes"] is False, plan["changes"]

        sandbox = tmp_path / ".billingops" / "sandbox"
        tf_env, var_files = _sandbox_terraform(sandbox)

        def terraform(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
            return subprocess.run([terraform_binary(), *args, "-no-color"], cwd=sandbox / "terraform-dev",
                                  env=tf_env, capture_output=True, text=True, timeout=timeout)

        assert_no_credential_in_state(status["moto_url"], REGION, terraform)
        destroy = terraform(["destroy", "-auto-approve", "-input=false", *var_files], timeout=900)
        assert destroy.returncode == 0, destroy.stdout[-8000:] + destroy.stderr
        left = terraform(["state", "list"])
        assert left.returncode == 0 and left.stdout.strip() == "", f"resources left after destroy:\n{left.stdout}"
    finally:
        down = run_cli("sandbox", "down", "--json", cwd=tmp_path)
    assert json.loads(down.stdout)["moto"] is True
    assert json.loads(run_cli("sandbox", "status", "--json", cwd=tmp_path).stdout)["status"] == "not running"


def test_without_the_sandbox_extra_the_sandbox_says_what_to_install(tmp_path, monkeypatch):
    import importlib.util

    from billingops.errors import ToolMissing
    from billingops.sandbox.emulator import Sandbox

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "moto" else real(name, *a))
    with pytest.raises(ToolMissing) as caught:
        Sandbox(tmp_path / "state").up()
    assert "billingops[sandbox]" in caught.value.hint
    assert not (tmp_path / "state").exists()  # refused before anything was written


def test_sandbox_state_backend_uses_the_lock_file_and_the_bootstrap_key(tmp_path, monkeypatch):
    """Real terraform against the sandbox's S3 backend: no deprecation warning at init (no dynamodb_table), the
    state is locked with S3's lock file and written encrypted with the sandbox's KMS key, as bootstrap sets up."""
    import shutil
    import subprocess

    import boto3

    from billingops.sandbox.emulator import STATE_BUCKET, Sandbox

    for key in ("AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "placeholder")  # restored after the test although the sandbox rewrites them
    sandbox = Sandbox(tmp_path / "state")
    try:
        info, _ = sandbox.up(postgres=False)
        hcl = info.backend_hcl("dev")
        assert "dynamodb_table" not in hcl and "use_lockfile   = true" in hcl
        module = tmp_path / "module"
        module.mkdir()
        (module / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\n\nresource "terraform_data" "x" {\n'
                                        '  input = "sandbox"\n}\n')
        env = {**os.environ, **info.environ(), "TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(tmp_path / "tfdata"),
               "TF_CLI_CONFIG_FILE": str(tmp_path / "no-terraformrc")}
        (tmp_path / "no-terraformrc").write_text("")
        tf = shutil.which("terraform")
        assert tf
        init = subprocess.run([tf, "init", "-no-color", "-input=false",
                               f"-backend-config={info.backend_file('dev')}"],
                              cwd=module, env=env, capture_output=True, text=True, timeout=300)
        assert init.returncode == 0, init.stderr
        assert "Warning" not in init.stdout + init.stderr, init.stdout + init.stderr
        apply = subprocess.run([tf, "apply", "-no-color", "-input=false", "-auto-approve"],
                               cwd=module, env=env, capture_output=True, text=True, timeout=300)
        assert apply.returncode == 0, apply.stderr
        s3 = boto3.client("s3", endpoint_url=info.moto_url, region_name=info.region)
        head = s3.head_object(Bucket=STATE_BUCKET, Key="dev/terraform.tfstate")
        assert head["ServerSideEncryption"] == "aws:kms"
        kms = boto3.client("kms", endpoint_url=info.moto_url, region_name=info.region)
        key_arn = kms.describe_key(KeyId="alias/billingops-sandbox-state")["KeyMetadata"]["Arn"]
        assert head["SSEKMSKeyId"] in (key_arn, info.state_kms_key_arn), head["SSEKMSKeyId"]
        assert info.state_kms_key_arn.endswith(":alias/billingops-sandbox-state")
        assert "dynamodb_table" not in info.backend_hcl("dev")
    finally:
        sandbox.down()


def test_a_sandbox_whose_moto_fails_to_start_leaves_no_postgres_behind(tmp_path, monkeypatch):
    """The throwaway PostgreSQL starts while moto boots (issue 17, deploy overhead): when moto then fails,
    the PostgreSQL started beside it is stopped and its folder removed."""
    import glob
    import subprocess
    import sys
    import tempfile

    from billingops.errors import ExternalError
    from billingops.sandbox import emulator

    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "billingops-sandbox-pg-*")))
    monkeypatch.setattr(emulator, "moto_server_command", lambda host, port: [sys.executable, "-c", "exit(3)"])
    with pytest.raises(ExternalError, match="moto server did not start"):
        emulator.Sandbox(tmp_path).up()
    left = set(glob.glob(os.path.join(tempfile.gettempdir(), "billingops-sandbox-pg-*"))) - before
    assert not left, left
    running = subprocess.run(["pgrep", "-af", "postgres.*billingops-sandbox-pg-"], capture_output=True,
                             text=True).stdout.splitlines()
    assert [line for line in running if not any(path in line for path in before)] == []


def test_the_sandbox_terraform_folder_is_private(tmp_path, monkeypatch):
    """The module copied for a sandbox run (it gets the emulator's endpoint and credentials beside it) is 0700 with
    0600 files, like every other folder billingops writes, not the bundled module's 0755/0644."""
    import stat

    from billingops.config import load_settings

    monkeypatch.chdir(tmp_path)
    env = load_settings(cwd=tmp_path).env("dev", "aws")
    info = SandboxInfo(root=tmp_path / "sandbox", moto_port=5999, moto_pid=1)
    info.root.mkdir(mode=0o700)
    info.terraform(env)
    workdir = info.root / "terraform-dev"
    loose = [f"{oct(stat.S_IMODE(p.stat().st_mode))} {p}" for p in [workdir, *workdir.rglob("*")]
             if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
