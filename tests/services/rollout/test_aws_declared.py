"""Issue 15: rollouts serve what terraform declared. terraform's latest revision (output task_definition_arn)
is the base of the rolled-out revision, status says when the serving revision lags it, and the one-off
migration task runs the image being deployed. moto ECS over HTTP, deployments scripted as in test_aws_rollout."""

from __future__ import annotations

from typing import Any

import pytest

from billingops.clouds.aws.rollout import EcsRollout, revision_lag
from billingops.clouds.aws.status import AwsStatus
from billingops.clouds.aws.task import EcsMigrationTask
from billingops.clouds.rollout import Waiting
from tests.services.rollout.conftest import ECR_REPO as REPO
from tests.services.rollout.conftest import ScriptedEcs

OLD, NEW = f"{REPO}:v1", f"{REPO}:v2"
FAST = Waiting(timeout=5, poll=0.01)

pytestmark = pytest.mark.slow  # moto EC2/ECS setup takes seconds per test on a loaded machine


def _terraform_changes_the_task_definition(ecs: Any) -> str:
    """What `terraform apply` does after an edit of ecs.tf: a new revision, terraform's (placeholder) image."""
    current = ecs.describe_task_definition(taskDefinition="billing-dev:1", include=["TAGS"])
    td = current["taskDefinition"]
    container = dict(td["containerDefinitions"][0])
    container["environment"] = [{"name": "APP_ENV", "value": "dev"}, {"name": "FEATURE_X", "value": "on"}]
    container["image"] = f"{REPO}:terraform-placeholder"
    return str(ecs.register_task_definition(
        family=td["family"], networkMode=td["networkMode"], requiresCompatibilities=td["requiresCompatibilities"],
        cpu="1024", memory="2048", executionRoleArn=td["executionRoleArn"], taskRoleArn=td["taskRoleArn"],
        containerDefinitions=[container], tags=current["tags"],
    )["taskDefinition"]["taskDefinitionArn"])


def _serving(ecs: Any) -> str:
    return str(ecs.describe_services(cluster="billing-dev", services=["billing-dev"])["services"][0]["taskDefinition"])


def _td(ecs: Any, ref: str) -> dict[str, Any]:
    return dict(ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"])


def test_rollout_registers_terraforms_revision_with_the_new_image(ecs_setup):
    ecs = ecs_setup["ecs"]
    declared = _terraform_changes_the_task_definition(ecs)  # billing-dev:2
    assert "behind terraform's latest revision billing-dev:2" in (revision_lag(_serving(ecs), declared) or "")
    status = AwsStatus(ecs, None).service("billing-dev", "billing-dev", "app", declared)
    assert status.behind_terraform and "billing-dev:2" in (status.deployment or "")

    scripted = ScriptedEcs(ecs, [{"rolloutState": "COMPLETED", "runningCount": 1}])
    progress: list[str] = []
    outcome = EcsRollout(scripted, cluster="billing-dev", service="billing-dev", declared=declared,
                         sleep=lambda s: None).deploy(NEW, health=None, waiting=FAST, progress=progress.append)

    assert (outcome.previous, outcome.current, outcome.status) == ("billing-dev:1", "billing-dev:3", "completed")
    served = _td(ecs, _serving(ecs))
    assert served["revision"] == 3
    assert served["cpu"] == "1024" and served["memory"] == "2048"  # terraform's change reaches the service
    assert {"name": "FEATURE_X", "value": "on"} in served["containerDefinitions"][0]["environment"]
    assert served["containerDefinitions"][0]["image"] == NEW
    assert any("from terraform's billing-dev:2" in line for line in progress), progress
    assert revision_lag(_serving(ecs), declared) is None
    assert AwsStatus(ecs, None).service("billing-dev", "billing-dev", "app", declared).behind_terraform is None


def test_the_same_image_behind_terraform_is_rolled_out_not_skipped(ecs_setup):
    ecs = ecs_setup["ecs"]
    declared = _terraform_changes_the_task_definition(ecs)
    scripted = ScriptedEcs(ecs, [{"rolloutState": "COMPLETED", "runningCount": 1}])
    outcome = EcsRollout(scripted, cluster="billing-dev", service="billing-dev", declared=declared,
                         sleep=lambda s: None).deploy(OLD, health=None, waiting=FAST, progress=lambda line: None)
    assert outcome.status == "completed" and outcome.current == "billing-dev:3"
    assert _td(ecs, _serving(ecs))["containerDefinitions"][0]["image"] == OLD
    assert any("behind terraform's" in note for note in outcome.notes)
    again = EcsRollout(ScriptedEcs(ecs, [{"rolloutState": "COMPLETED"}]), cluster="billing-dev",
                       service="billing-dev", declared=declared, sleep=lambda s: None)
    assert again.deploy(OLD, health=None, waiting=FAST, progress=lambda line: None).status == "unchanged"


def test_the_migration_task_runs_the_deployed_image_on_terraforms_revision(ecs_setup):
    ecs = ecs_setup["ecs"]
    declared = _terraform_changes_the_task_definition(ecs)
    task = EcsMigrationTask(ecs, cluster="billing-dev", task_definition="billing-dev", container="app",
                            subnets=["subnet-1"], security_groups=["sg-1"], image=NEW, declared=declared,
                            say=lambda line: None)
    arn = task.revision()
    ran = _td(ecs, arn)
    assert ran["containerDefinitions"][0]["image"] == NEW  # not the family's latest (terraform's placeholder)
    assert ran["cpu"] == "1024" and ran["revision"] == 3
    # The rollout that follows serves that same revision instead of registering another copy.
    scripted = ScriptedEcs(ecs, [{"rolloutState": "COMPLETED", "runningCount": 1}])
    outcome = EcsRollout(scripted, cluster="billing-dev", service="billing-dev", declared=declared,
                         sleep=lambda s: None).deploy(NEW, health=None, waiting=FAST, progress=lambda line: None)
    assert outcome.current == "billing-dev:3"
    assert task.revision() == arn  # a re-run registers nothing new either


def test_plan_and_drift_say_when_the_service_serves_an_older_revision_than_terraforms(ecs_setup):
    """`plan` and `drift` (services/serving.py) compare the serving revision with terraform's output."""
    from billingops.services.serving import serving_lag

    ecs = ecs_setup["ecs"]
    outputs = {"ecs_cluster_name": "billing-dev", "service_name": "billing-dev", "container_name": "app",
               "task_definition_arn": _serving(ecs)}
    same = serving_lag("aws", outputs, lambda: AwsStatus(ecs, None))
    assert same.checked and same.behind_terraform is None
    outputs["task_definition_arn"] = _terraform_changes_the_task_definition(ecs)
    behind = serving_lag("aws", outputs, lambda: AwsStatus(ecs, None))
    assert behind.checked and "behind terraform's latest revision billing-dev:2" in behind.behind_terraform
    assert "billing-dev:2" in behind.line()

    missing = serving_lag("aws", {"service_name": "billing-dev"}, lambda: AwsStatus(ecs, None))
    assert not missing.checked and "task_definition_arn" in missing.why_not
    gone = serving_lag("aws", {**outputs, "service_name": "no-such-service"}, lambda: AwsStatus(ecs, None))
    assert not gone.checked and "no-such-service" in gone.why_not  # said, never a traceback
    assert not serving_lag("gcp", outputs, lambda: AwsStatus(ecs, None)).checked
