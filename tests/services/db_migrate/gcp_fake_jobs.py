"""Cloud Run v2 jobs on GcpFake: `jobs/J:run` starts an execution as a long-running operation.

fake.state["jobs"][job_name] = {"outcome": "succeeded" | "failed", "polls": N} sets how an execution ends
and how many operation polls it takes; every run is recorded in fake.state["job_runs"].
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.support.gcp_fake import GcpFake, Request, error

EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"
_ids = itertools.count(1)


def install(fake: GcpFake) -> None:
    fake.state.setdefault("jobs", {})
    fake.state.setdefault("job_runs", [])
    fake.state.setdefault("operations", {})
    fake.route("POST", r"/v2/(?P<job>projects/[^/]+/locations/[^/]+/jobs/[^/:]+):run", _run)
    fake.route("GET", r"/v2/(?P<op>projects/[^/]+/locations/[^/]+/operations/[^/]+)", _get_operation)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _run(fake: GcpFake, request: Request, job: str) -> tuple[int, Any]:
    spec = fake.state["jobs"].get(job)
    if spec is None:
        return error(
            404, f"Resource '{job.rsplit('/', 1)[-1]}' of kind 'JOB' in region was not found.", "NOT_FOUND"
        )
    number = next(_ids)
    execution = f"{job}/executions/{job.rsplit('/', 1)[-1]}-{number:05d}"
    location = job.split("/jobs/")[0]
    op = f"{location}/operations/op-{number}"
    fake.state["job_runs"].append({"job": job, "overrides": (request.body or {}).get("overrides")})
    fake.state["operations"][op] = {
        "polls_left": spec.get("polls", 1),
        "execution": execution,
        "outcome": spec.get("outcome", "succeeded"),
        "job": job,
    }
    return 200, {
        "name": op,
        "done": False,
        "metadata": {"@type": EXECUTION_TYPE, "name": execution, "job": job, "createTime": _now()},
    }


def _get_operation(fake: GcpFake, request: Request, op: str) -> tuple[int, Any]:
    entry = fake.state["operations"].get(op)
    if entry is None:
        return error(404, f"Operation {op} not found.", "NOT_FOUND")
    metadata = {"@type": EXECUTION_TYPE, "name": entry["execution"], "job": entry["job"]}
    if entry["polls_left"] > 0:
        entry["polls_left"] -= 1
        return 200, {"name": op, "done": False, "metadata": {**metadata, "runningCount": 1}}
    ok = entry["outcome"] == "succeeded"
    execution = {
        **metadata,
        "taskCount": 1,
        "succeededCount": 1 if ok else 0,
        "failedCount": 0 if ok else 1,
        "completionTime": _now(),
        "logUri": "https://console.cloud.google.com/logs/fake",
    }
    execution.pop("@type")
    if ok:
        return 200, {
            "name": op,
            "done": True,
            "metadata": metadata,
            "response": {"@type": EXECUTION_TYPE, **execution},
        }
    return 200, {
        "name": op,
        "done": True,
        "metadata": metadata,
        "error": {"code": 9, "message": f"Task {entry['execution']}-task0 failed with exit code 1."},
    }
