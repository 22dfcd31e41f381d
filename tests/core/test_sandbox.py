"""The main job on this machine: `billingops deploy --env dev --sandbox` against moto, end to end."""

from __future__ import annotations

import json
import os

import pytest

from billingops.errors import Refused
from billingops.sandbox.emulator import SandboxInfo, assert_loopback


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


@pytest.mark.slow
def test_sandbox_deploy_end_to_end(tmp_path, run_cli):
    """Every step ok or visibly skipped with a reason; a second plan is clean; `sandbox down` cleans up."""
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
