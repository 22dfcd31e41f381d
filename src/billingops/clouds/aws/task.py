"""Migrations as an ECS one-off task: `run-task` with a command override, polled until STOPPED.

Given the image being deployed, the task runs that image: ECS cannot override a container's image per task, so
the task runs terraform's latest revision (output task_definition_arn) with only the image changed, the same
revision the rollout then serves (clouds/aws/rollout.revision_with_image registers it once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from billingops.clouds.base import aws_client, aws_errors
from billingops.clouds.task import DEFAULT_TIMEOUT, TaskResult
from billingops.errors import CloudError, ConfigError, ExternalError, StepFailed

if TYPE_CHECKING:
    from billingops.config import EnvConfig

log = logging.getLogger(__name__)


class EcsMigrationTask:
    def __init__(
        self,
        ecs: Any,
        *,
        cluster: str,
        task_definition: str,
        container: str,
        subnets: Sequence[str],
        security_groups: Sequence[str],
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = 5.0,
        say: Callable[[str], None] | None = None,
        image: str | None = None,
        declared: str | None = None,
    ) -> None:
        self.ecs, self.cluster, self.task_definition, self.container = (
            ecs,
            cluster,
            task_definition,
            container,
        )
        self.subnets, self.security_groups = list(subnets), list(security_groups)
        self.timeout, self.poll, self.say = timeout, poll, say or log.info
        self.image = image  # the image being deployed; None: the task definition's own image
        self.declared = declared  # terraform's latest revision, the base of the image's revision

    @classmethod
    def from_outputs(cls, env: EnvConfig, outputs: Mapping[str, Any], **kwargs: Any) -> EcsMigrationTask:
        needed = {
            "cluster": "ecs_cluster_name",
            "task_definition": "task_definition_family",
            "container": "container_name",
            "subnets": "private_subnet_ids",
            "security_groups": "app_security_group_id",
        }
        values: dict[str, Any] = {
            key: kwargs.pop(key, None) or outputs.get(output) for key, output in needed.items()
        }
        missing = [needed[k] for k, v in values.items() if not v]
        if missing:
            raise ConfigError(
                f"Running migrations as an ECS task needs the terraform outputs {', '.join(missing)}.",
                hint="Run `billingops deploy` through apply, or pass --cluster, --task-definition, "
                "--container, --subnet and --security-group.",
            )
        if isinstance(values["security_groups"], str):
            values["security_groups"] = [values["security_groups"]]
        kwargs.setdefault("declared", outputs.get("task_definition_arn") or None)
        return cls(aws_client("ecs", outputs.get("region") or env.region), **values, **kwargs)

    def revision(self) -> str:
        """The task definition the task runs: with an image, terraform's revision carrying that image."""
        if not self.image:
            return self.task_definition
        from billingops.clouds.aws.rollout import revision_with_image

        base_ref = self.declared or self.task_definition
        with aws_errors(f"Describing task definition {base_ref}"):
            reply = self.ecs.describe_task_definition(taskDefinition=base_ref, include=["TAGS"])
        base = {**reply["taskDefinition"], "tags": reply.get("tags") or []}
        arn = revision_with_image(self.ecs, base, self.image, self.container)
        self.say(f"migration task definition {arn.rsplit('/', 1)[-1]} (image {self.image})")
        return arn

    def run(self, command: Sequence[str]) -> TaskResult:
        began = time.monotonic()
        task_definition = self.revision()
        with aws_errors(f"Starting the migration task on cluster {self.cluster}"):
            response = self.ecs.run_task(
                cluster=self.cluster,
                taskDefinition=task_definition,
                launchType="FARGATE",
                count=1,
                startedBy="billingops-migrate",
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": self.subnets,
                        "securityGroups": self.security_groups,
                        "assignPublicIp": "DISABLED",
                    }
                },
                overrides={"containerOverrides": [{"name": self.container, "command": list(command)}]},
            )
        if response.get("failures") or not response.get("tasks"):
            why = "; ".join(
                f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in response.get("failures", [])
            )
            raise CloudError(
                f"ECS did not start the migration task: {why or 'no task returned'}.",
                hint="Check the cluster's capacity, the subnets and the task definition, then retry.",
            )
        arn = response["tasks"][0]["taskArn"]
        self.say(f"migration task started: {arn}")
        task = self._wait(arn, began)
        return self._result(task, began)

    def _wait(self, arn: str, began: float) -> dict[str, Any]:
        last = None
        while True:
            with aws_errors(f"Describing migration task {arn}"):
                tasks = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn]).get("tasks", [])
            if not tasks:
                raise CloudError(
                    f"Migration task {arn} is no longer known to ECS.",
                    hint="Look for it in the ECS console's stopped tasks and its CloudWatch logs.",
                )
            task: dict[str, Any] = tasks[0]
            status = task.get("lastStatus")
            if status != last:
                self.say(f"migration task {status}")
                last = status
            if status == "STOPPED":
                return task
            if time.monotonic() - began > self.timeout:
                raise ExternalError(
                    f"Migration task {arn} did not finish within {self.timeout:.0f} s "
                    f"(last status {status}); it was left running.",
                    hint="Follow it in the ECS console / CloudWatch logs; stop it with `aws ecs "
                    "stop-task` only if it is stuck; raise --task-timeout for long migrations.",
                )
            time.sleep(self.poll)

    def _result(self, task: dict[str, Any], began: float) -> TaskResult:
        arn = task["taskArn"]
        seconds = round(time.monotonic() - began, 1)
        containers = task.get("containers", [])
        container: dict[str, Any] = next((c for c in containers if c.get("name") == self.container), {})
        code = container.get("exitCode")
        reason = task.get("stoppedReason") or container.get("reason") or "no reason given"
        if code is None:
            raise StepFailed(
                f"Migration task {arn} stopped without an exit code from container {self.container}: "
                f"{reason}.",
                hint="The container never ran to completion (image pull, secrets or capacity); "
                "check the task's stopped reason and CloudWatch logs.",
            )
        if code != 0:
            raise StepFailed(
                f"Migration task {arn} exited with code {code} ({reason}).",
                hint="Read the task's CloudWatch logs for the migration error, fix it, and rerun.",
            )
        return TaskResult(arn, 0, seconds, reason)
