"""The deploy checklist's `rollout` and `verify` steps, run with a StepContext as the checklist builds it."""

from __future__ import annotations

from typing import Any

import pytest

from billingops.commands.common import Session
from billingops.config import load_settings
from billingops.console import Output
from billingops.errors import StepFailed
from billingops.runs.checklist import Skip, StepContext
from billingops.runs.journal import Journal
from billingops.sandbox.emulator import SandboxInfo
from billingops.services.deploy import rollout_image, verify
from tests.services.rollout.conftest import ECR_REPO


def _ctx(tmp_path, outputs: dict[str, Any], *, image: str | None = None, sandbox: Any = None) -> StepContext:
    settings = load_settings(None, cwd=tmp_path)
    session = Session(settings=settings, output=Output(), env_name="dev", cloud="aws", yes=True)
    journal = Journal.create(tmp_path / "runs", command="deploy", env="dev", cloud="aws")
    ctx = StepContext(session=session, env=session.env(), journal=journal, output=session.output, image=image,
                      sandbox=sandbox)
    ctx.services["outputs"] = outputs  # what ctx.outputs() would read from terraform
    return ctx


def test_rollout_step_without_image_keeps_the_running_image(tmp_path):
    with pytest.raises(Skip, match="no --image given: the running image is kept"):
        rollout_image.run(_ctx(tmp_path, {}))


def test_verify_step_reports_status_and_latency(tmp_path, app):
    ctx = _ctx(tmp_path, {"load_balancer_url": f"{app.url}/svc"})
    detail = verify.run(ctx)
    assert detail.startswith(f"{app.url}/svc/health answered 200 in ")
    assert ctx.data["verify"]["status"] == 200 and ctx.data["verify"]["ok"]


def test_verify_step_fails_when_the_endpoint_is_unhealthy(tmp_path, app, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_HEALTH_TIMEOUT", "0.3")
    monkeypatch.setenv("BILLINGOPS_ROLLOUT_POLL", "0.05")
    app.service_status = 503
    with pytest.raises(StepFailed) as info:
        verify.run(_ctx(tmp_path, {"load_balancer_url": f"{app.url}/svc"}))
    assert "Verify failed" in info.value.message and "last answer 503" in info.value.message
    assert "billingops rollback --env dev" in info.value.hint


def test_verify_step_is_skipped_visibly_in_the_sandbox(tmp_path):
    sandbox = SandboxInfo(root=tmp_path, moto_port=1, moto_pid=0)
    with pytest.raises(Skip, match="skipped in sandbox: no application answers the health check"):
        verify.run(_ctx(tmp_path, {}, sandbox=sandbox))


@pytest.mark.slow
def test_rollout_step_in_the_sandbox_runs_against_moto_and_says_what_it_skipped(tmp_path, ecs_setup, moto):
    sandbox = SandboxInfo(root=tmp_path, moto_port=moto.port, moto_pid=0, image_tag="sandbox-1")
    outputs = {"ecs_cluster_name": "billing-dev", "service_name": "billing-dev", "container_name": "app",
               "image_repository_url": ECR_REPO}
    ctx = _ctx(tmp_path, outputs, image="sandbox-1", sandbox=sandbox)
    detail = rollout_image.run(ctx)
    assert f"image {ECR_REPO}:sandbox-1 found in ECR" in detail
    assert "task definition billing-dev:2 registered (was billing-dev:1)" in detail
    assert "skipped in sandbox: waiting for the deployment" in detail
    service = ecs_setup["ecs"].describe_services(cluster="billing-dev", services=["billing-dev"])["services"][0]
    assert service["taskDefinition"].endswith("billing-dev:2")
    assert ctx.data["rollout"]["current"] == "billing-dev:2"


def test_bad_step_timeout_setting_is_a_config_error(tmp_path, monkeypatch):
    from billingops.errors import ConfigError

    monkeypatch.setenv("BILLINGOPS_HEALTH_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="BILLINGOPS_HEALTH_TIMEOUT='soon' is not a duration"):
        verify.run(_ctx(tmp_path, {"load_balancer_url": "http://127.0.0.1:1"}))
