"""Migrations as a Cloud Run job execution with an args override, awaited through its operation.

The execution runs the image being deployed: a run's overrides cannot name an image (Cloud Run v2
`RunJobRequest.Overrides.ContainerOverride` has name, args, env and clear_args only), so when the job's template names
another image the job is updated to the deployed one first (the AWS side overrides the task's image the same
way), and the execution started afterwards runs it."""

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
        image: str | None = None,
    ) -> None:
        self.jobs, self.job, self.timeout, self.polling = jobs, job, timeout, polling
        self.say = say or log.info
        self.image = image

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
        if self.image:
            self._use_image(self.image)
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

    def _use_image(self, image: str) -> None:
        """Point the job's container at `image` unless it already runs it; waits for the update."""
        from google.api_core import exceptions as gexc

        with gcp_errors(f"Reading Cloud Run job {self.job}",
                        hint="Check that the job exists (terraform creates it) and that you may read it."):
            job = self.jobs.get_job(name=self.job, timeout=GCP_TIMEOUT)
        containers = job.template.template.containers
        if not containers:
            raise StepFailed(f"The Cloud Run job {self.job} has no container to run the image {image} in.",
                             hint="Check the job's definition (terraform), then rerun the migrations.")
        current = containers[0].image
        if current == image:
            return
        containers[0].image = image
        with gcp_errors(f"Updating Cloud Run job {self.job} to the image {image}",
                        hint="Nothing ran; check that you may update the job (run.jobs.update), then rerun."):
            operation = self.jobs.update_job(request={"job": job}, timeout=GCP_TIMEOUT)
        try:
            kwargs = {"timeout": self.timeout}
            if self.polling is not None:
                kwargs["polling"] = self.polling
            operation.result(**kwargs)
        except gexc.GoogleAPICallError as exc:
            raise StepFailed(f"Updating Cloud Run job {self.job} to the image {image} failed: "
                             f"{getattr(exc, 'message', exc)}.",
                             hint="No migration ran; check the image and the job, then rerun.") from None
        self.say(f"migration job {self.job.rsplit('/', 1)[-1]} now runs {image} (was {current})")
