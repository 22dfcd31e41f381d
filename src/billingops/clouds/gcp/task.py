"""Migrations as a Cloud Run job execution with an args override, awaited through its operation."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from billingops.clouds.base import GCP_TIMEOUT, gcp_client_kwargs, gcp_errors
from billingops.clouds.task import DEFAULT_TIMEOUT, TaskResult
from billingops.errors import ConfigError, ExternalError, StepFailed

if TYPE_CHECKING:
    from billingops.config import EnvConfig

log = logging.getLogger(__name__)


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
