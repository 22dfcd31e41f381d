"""The one-off migration task both clouds run: its result and command line (adapters: aws/task.py, gcp/task.py).

Migrations as a one-off task of the app image (config `migrations_mode = "task"` or --task).

AWS: `ecs run-task` on the service's task definition with a command override, then poll until the task
STOPPED and read the app container's exit code. GCP: a Cloud Run job execution (`JobsClient.run_job` with an
args override), waiting for the long-running operation's Execution. The migration runs inside the VPC, so
no tunnel is needed; the app's own migration entrypoint does the work.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from billingops.errors import UsageError

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


