"""Migrations as a one-off task of the app image (config `migrations_mode = "task"` or --task).

AWS: `ecs run-task` on the service's task definition with a command override, then poll until the task
STOPPED and read the app container's exit code. GCP: a Cloud Run job execution (`JobsClient.run_job` with an
args override), waiting for the long-running operation's Execution. The migration runs inside the VPC, so
no tunnel is needed; the app's own migration entrypoint does the work.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billingops.clouds.base import GCP_TIMEOUT, aws_client, aws_errors, gcp_client_kwargs, gcp_errors
from billingops.errors import CloudError, ConfigError, ExternalError, StepFailed, UsageError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

log = logging.getLogger(__name__)

DEFAULT_COMMAND = "migrate"
DEFAULT_TIMEOUT = 1800.0


@dataclass
class TaskResult:
    task: str  # the ECS task ARN or the Cloud Run execution name
    exit_code: int
    seconds: float
    detail: str = ""


def parse_command(text: str) -> list[str]:
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise UsageError(
            f"--task-command {text!r} cannot be split into arguments: {exc}.",
            hint="Quote it like a shell command line.",
        ) from None
    if not argv:
        raise UsageError(
            "--task-command is empty.", hint="Pass the app image's migration command, e.g. 'migrate'."
        )
    return argv


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
    ) -> None:
        self.ecs, self.cluster, self.task_definition, self.container = (
            ecs,
            cluster,
            task_definition,
            container,
        )
        self.subnets, self.security_groups = list(subnets), list(security_groups)
        self.timeout, self.poll, self.say = timeout, poll, say or log.info

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
        return cls(aws_client("ecs", outputs.get("region") or env.region), **values, **kwargs)

    def run(self, command: Sequence[str]) -> TaskResult:
        began = time.monotonic()
        with aws_errors(f"Starting the migration task on cluster {self.cluster}"):
            response = self.ecs.run_task(
                cluster=self.cluster,
                taskDefinition=self.task_definition,
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


class CloudRunMigrationJob:
    def __init__(
        self,
        jobs: Any,
        *,
        job: str,
        timeout: float = DEFAULT_TIMEOUT,
        polling: Any = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.jobs, self.job, self.timeout, self.polling = jobs, job, timeout, polling
        self.say = say or log.info

    @classmethod
    def from_outputs(
        cls, env: EnvConfig, outputs: Mapping[str, Any], job: str | None = None, **kwargs: Any
    ) -> CloudRunMigrationJob:
        from google.cloud import run_v2

        project = outputs.get("project_id") or env.gcp_project
        region = outputs.get("region") or env.region
        name = job or f"{outputs.get('service_name') or env.service_name}-migrate"
        if not name.startswith("projects/"):
            if not project:
                raise ConfigError(
                    "Running migrations as a Cloud Run job needs the GCP project.",
                    hint="Set [environments.ENV.gcp] project, or pass --job projects/P/locations/L/jobs/J.",
                )
            name = f"projects/{project}/locations/{region}/jobs/{name}"
        with gcp_errors("Creating the Cloud Run jobs client"):
            client = run_v2.JobsClient(**gcp_client_kwargs(env, "run"))
        return cls(client, job=name, **kwargs)

    def run(self, command: Sequence[str]) -> TaskResult:
        from google.api_core import exceptions as gexc

        began = time.monotonic()
        request = {"name": self.job, "overrides": {"container_overrides": [{"args": list(command)}]}}
        with gcp_errors(
            f"Starting Cloud Run job {self.job}",
            hint="Check that the job exists (terraform creates it) and that you may run it.",
        ):
            operation = self.jobs.run_job(request=request, timeout=GCP_TIMEOUT)
        execution_name = getattr(operation.metadata, "name", "") or self.job
        self.say(f"migration job execution started: {execution_name}")
        try:
            kwargs = {"timeout": self.timeout}
            if self.polling is not None:
                kwargs["polling"] = self.polling
            execution = operation.result(**kwargs)
        except gexc.GoogleAPICallError as exc:
            raise StepFailed(
                f"Migration job execution {execution_name} failed: {getattr(exc, 'message', exc)}.",
                hint="Read the execution's logs (gcloud run jobs executions describe / Logs "
                "Explorer), fix the migration, and rerun.",
            ) from None
        except (TimeoutError, gexc.RetryError):
            raise ExternalError(
                f"Migration job execution {execution_name} did not finish within "
                f"{self.timeout:.0f} s; it was left running.",
                hint="Follow it with `gcloud run jobs executions describe`; raise --task-timeout "
                "for long migrations.",
            ) from None
        seconds = round(time.monotonic() - began, 1)
        if execution.failed_count or execution.cancelled_count or not execution.succeeded_count:
            raise StepFailed(
                f"Migration job execution {execution.name} did not succeed: "
                f"{execution.succeeded_count} succeeded, {execution.failed_count} failed, "
                f"{execution.cancelled_count} cancelled.",
                hint=f"Read its logs ({execution.log_uri or 'Logs Explorer'}), fix, and rerun.",
            )
        return TaskResult(execution.name, 0, seconds, "succeeded")
