"""ECS rollout against the moto server (real boto3 over HTTP).

moto registers task definitions and updates the service's task definition for real, but it does not emulate
deployment progress: update_service creates no new deployment, and rolloutState never moves (see
emulator-notes.md). These tests therefore drive the deployments that describe_services reports with a script
(`ScriptedEcs`), while the task definition the PRIMARY deployment runs is always the one moto really holds for the
service, so a missing or wrong update_service still fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from billingops.clouds.aws.registry import EcrRegistry
from billingops.clouds.aws.rollout import EcsRollout
from billingops.clouds.health import HealthChecker
from billingops.clouds.rollout import Waiting
from billingops.errors import StepFailed, UsageError
from billingops.imageref import parse_image
from tests.services.rollout.conftest import ECR_REPO as REPO
from tests.services.rollout.conftest import ScriptedEcs

OLD, NEW = f"{REPO}:v1", f"{REPO}:v2"
FAST = Waiting(timeout=5, poll=0.01)

pytestmark = pytest.mark.slow  # moto EC2/ECS setup takes seconds per test on a loaded machine


def _adapter(ecs: Any, **kwargs: Any) -> EcsRollout:
    return EcsRollout(ecs, cluster="billing-dev", service="billing-dev", sleep=lambda s: None, **kwargs)


def _service_td(ecs: Any) -> str:
    return ecs.describe_services(cluster="billing-dev", services=["billing-dev"])["services"][0][
        "taskDefinition"
    ]


def test_new_revision_changes_only_the_image_and_waits_for_completed(ecs_setup):
    ecs = ScriptedEcs(
        ecs_setup["ecs"],
        [
            {"rolloutState": "IN_PROGRESS", "pendingCount": 1},
            {"rolloutState": "IN_PROGRESS", "runningCount": 1},
            {"rolloutState": "COMPLETED", "runningCount": 1},
        ],
    )
    progress: list[str] = []
    outcome = _adapter(ecs).deploy(NEW, health=None, waiting=FAST, progress=progress.append)

    assert (outcome.previous, outcome.current, outcome.status) == (
        "billing-dev:1",
        "billing-dev:2",
        "completed",
    )
    old = ecs_setup["ecs"].describe_task_definition(taskDefinition="billing-dev:1", include=["TAGS"])
    new = ecs_setup["ecs"].describe_task_definition(taskDefinition="billing-dev:2", include=["TAGS"])
    strip = ("taskDefinitionArn", "revision", "registeredAt", "registeredBy")
    before = {k: v for k, v in old["taskDefinition"].items() if k not in strip}
    after = {k: v for k, v in new["taskDefinition"].items() if k not in strip}
    assert after["containerDefinitions"][0].pop("image") == NEW
    assert before["containerDefinitions"][0].pop("image") == OLD
    assert after == before and new["tags"] == old["tags"]
    assert _service_td(ecs_setup["ecs"]).endswith("billing-dev:2")
    assert any("IN_PROGRESS running 0/1, pending 1" in line for line in progress)
    assert any("COMPLETED running 1/1" in line for line in progress)


def test_failed_deployment_rolls_back_to_the_previous_revision_and_says_so(ecs_setup):
    ecs = ScriptedEcs(
        ecs_setup["ecs"],
        [
            {"rolloutState": "FAILED", "rolloutStateReason": "tasks failed to start"},
            {"rolloutState": "COMPLETED", "runningCount": 1},
        ],
    )
    with pytest.raises(
        StepFailed,
        match="FAILED: tasks failed to start.*rolled back to billing-dev:1 and that deployment completed",
    ):
        _adapter(ecs).deploy(NEW, health=None, waiting=FAST, progress=lambda m: None)
    assert [u.rsplit("/", 1)[-1] for u in ecs.updates] == ["billing-dev:2", "billing-dev:1"]
    assert _service_td(ecs_setup["ecs"]).endswith("billing-dev:1")


def test_circuit_breaker_rollback_is_a_failure(ecs_setup):
    old = ecs_setup["old_arn"]
    ecs = ScriptedEcs(
        ecs_setup["ecs"],
        [
            {"rolloutState": "IN_PROGRESS", "taskDefinition": old},
            {"rolloutState": "COMPLETED", "taskDefinition": old, "runningCount": 1},
        ],
    )
    with pytest.raises(StepFailed, match="PRIMARY deployment runs billing-dev:1.*circuit breaker"):
        _adapter(ecs).deploy(NEW, health=None, waiting=FAST, progress=lambda m: None)


def test_deployment_that_never_completes_times_out(ecs_setup):
    ecs = ScriptedEcs(ecs_setup["ecs"], [{"rolloutState": "IN_PROGRESS"}])
    adapter = EcsRollout(ecs, cluster="billing-dev", service="billing-dev")
    with pytest.raises(StepFailed, match="did not complete within"):
        adapter.deploy(NEW, health=None, waiting=Waiting(timeout=0.3, poll=0.05), progress=lambda m: None)


def test_failed_health_gate_rolls_back(ecs_setup, app):
    app.service_status = 503
    ecs = ScriptedEcs(ecs_setup["ecs"], [{"rolloutState": "COMPLETED", "runningCount": 1}])
    health = HealthChecker("/health", deadline=0.3, interval=0.05, request_timeout=1)
    with pytest.raises(StepFailed, match="health gate failed.*503.*rolled back to billing-dev:1"):
        _adapter(ecs, health_url=f"{app.url}/svc").deploy(
            NEW, health=health, waiting=FAST, progress=lambda m: None
        )
    assert _service_td(ecs_setup["ecs"]).endswith("billing-dev:1")


def test_passing_health_gate_reports_status_and_latency(ecs_setup, app):
    ecs = ScriptedEcs(ecs_setup["ecs"], [{"rolloutState": "COMPLETED", "runningCount": 1}])
    health = HealthChecker("/health", deadline=2, interval=0.05, request_timeout=1)
    outcome = _adapter(ecs, health_url=f"{app.url}/svc").deploy(
        NEW, health=health, waiting=FAST, progress=lambda m: None
    )
    assert outcome.health.ok and outcome.health.status == 200 and outcome.health.latency_ms is not None
    assert app.paths == ["/svc/health"]


def test_rollback_goes_to_the_previous_revision_or_the_one_named(ecs_setup):
    ecs = ScriptedEcs(ecs_setup["ecs"], [{"rolloutState": "COMPLETED", "runningCount": 1}])
    adapter = _adapter(ecs)
    adapter.deploy(NEW, health=None, waiting=FAST, progress=lambda m: None)
    assert adapter.current().name == "billing-dev:2" and adapter.current().image == NEW

    back = adapter.rollback(to=None, waiting=FAST, progress=lambda m: None)
    assert (back.previous, back.current, back.image) == ("billing-dev:2", "billing-dev:1", OLD)
    assert _service_td(ecs_setup["ecs"]).endswith("billing-dev:1")

    forward = adapter.rollback(to="2", waiting=FAST, progress=lambda m: None)
    assert forward.current == "billing-dev:2"
    with pytest.raises(UsageError, match="already runs billing-dev:2"):
        adapter.rollback(to="billing-dev:2", waiting=FAST, progress=lambda m: None)


def test_rollback_without_an_older_revision_is_a_usage_error_and_same_image_is_a_no_op(ecs_setup):
    adapter = _adapter(ecs_setup["ecs"])
    with pytest.raises(UsageError, match="no active revision of billing-dev older than 1"):
        adapter.rollback(to=None, waiting=FAST, progress=lambda m: None)
    outcome = adapter.deploy(OLD, health=None, waiting=FAST, progress=lambda m: None)
    assert outcome.status == "unchanged" and outcome.current == "billing-dev:1"
    assert len(ecs_setup["ecs"].list_task_definitions(familyPrefix="billing-dev")["taskDefinitionArns"]) == 1


def test_ecr_finds_the_image_and_refuses_a_missing_tag(ecs_setup):
    registry = EcrRegistry(ecs_setup["ecr"])
    assert registry.require(parse_image("v2", REPO)).startswith("sha256:")
    with pytest.raises(UsageError, match="does not exist in ECR repository 'billing': nothing was changed"):
        registry.require(parse_image("v9", REPO))
    with pytest.raises(UsageError, match="repository 'nope' does not exist"):
        registry.require(parse_image(f"{REPO.rsplit('/', 1)[0]}/nope:v1", None))
    with pytest.raises(UsageError, match="not in an Amazon ECR registry"):
        registry.require(parse_image("ghcr.io/acme/billing:v2", None))


def test_cli_missing_image_is_exit_2_and_touches_nothing(ecs_setup, run_cli):
    ecs = ecs_setup["ecs"]
    result = run_cli(
        "rollout",
        "--env",
        "dev",
        "--cloud",
        "aws",
        "--cluster",
        "billing-dev",
        "--service",
        "billing-dev",
        "--image",
        "v9",
        env={"BILLINGOPS_IMAGE_REPOSITORY": REPO},
    )
    assert result.returncode == 2, result.stderr
    assert "v9 does not exist in ECR repository 'billing': nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert ecs.list_task_definitions(familyPrefix="billing-dev")["taskDefinitionArns"] == [
        ecs_setup["old_arn"]
    ]
    assert _service_td(ecs) == ecs_setup["old_arn"]


def test_cli_rollback_to_a_named_revision(ecs_setup, run_cli):
    """moto's deployment never leaves IN_PROGRESS (see the module docstring), so the CLI's wait cannot succeed
    here; --timeout 1 makes it fail fast, and the test checks what moto does emulate (the service update to the
    named revision) and the clear timeout error with exit code 1."""
    ecs = ecs_setup["ecs"]
    second = ecs.register_task_definition(
        **{
            k: v
            for k, v in ecs.describe_task_definition(taskDefinition="billing-dev:1")["taskDefinition"].items()
            if k
            in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory")
        }
    )
    ecs.update_service(
        cluster="billing-dev",
        service="billing-dev",
        taskDefinition=second["taskDefinition"]["taskDefinitionArn"],
    )
    result = run_cli("rollback", "--env", "dev", "--cloud", "aws", "--cluster", "billing-dev", "--service",
                     "billing-dev", "--to", "billing-dev:1", "--timeout", "1", "--poll-interval", "0.2",
                     "--no-lock")  # the deploy lock needs the terraform state bucket, absent here
    assert _service_td(ecs) == ecs_setup["old_arn"]
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    assert "now points at billing-dev:1 (was billing-dev:2)" in result.stderr
    assert "deployment of billing-dev:1 did not complete within 1 s" in result.stderr
