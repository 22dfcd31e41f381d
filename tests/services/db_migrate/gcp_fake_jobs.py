"""Cloud Run v2 jobs on GcpFake: `jobs/J:run` starts an execution as a long-running operation.

fake.state["jobs"][job_name] = {"outcome": "succeeded" | "failed", "polls": N, "image": IMAGE} sets how an
execution ends, how many operation polls it takes and the image of the job's container; every run is recorded
in fake.state["job_runs"] with the image it ran. `GET`/`PATCH` of the job read and change its template (the
update is a long-running operation, done at once); every update is recorded in fake.state["job_updates"].
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.support.gcp_fake import GcpFake, Request, error

EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"
JOB_TYPE = "type.googleapis.com/google.cloud.run.v2.Job"
_JOB = r"/v2/(?P<job>projects/[^/]+/locations/[^/]+/jobs/[^/:]+)"
_ids = itertools.count(1)


def install(fake: GcpFake) -> None:
    fake.state.setdefault("jobs", {})
    fake.state.setdefault("job_runs", [])
    fake.state.setdefault("operations", {})
    fake.state.setdefault("job_updates", [])
    fake.route("GET", _JOB, _get_job)
    fake.route("PATCH", _JOB, _update_job)
    fake.route("POST", r"/v2/(?P<job>projects/[^/]+/locations/[^/]+/jobs/[^/:]+):run", _run)
    fake.route("GET", r"/v2/(?P<op>projects/[^/]+/locations/[^/]+/operations/[^/]+)", _get_operation)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _job(job: str, spec: dict[str, Any]) -> dict[str, Any]:
    container = {"name": "app", "image": spec.get("image", "repo/app:terraform")}
    return {"name": job, "etag": f'"{len(spec.get("updates", []))}"',
            "template": {"taskCount": 1, "template": {"containers": [container], "maxRetries": 0}}}


def _get_job(fake: GcpFake, request: Request, job: str) -> tuple[int, Any]:
    spec = fake.state["jobs"].get(job)
    if spec is None:
        return error(404, f"Resource '{job.rsplit('/', 1)[-1]}' of kind 'JOB' in region was not found.", "NOT_FOUND")
    return 200, _job(job, spec)


def _update_job(fake: GcpFake, request: Request, job: str) -> tuple[int, Any]:
    spec = fake.state["jobs"].get(job)
    if spec is None:
        return error(404, f"Resource '{job.rsplit('/', 1)[-1]}' of kind 'JOB' in region was not found.", "NOT_FOUND")
    containers = (((request.body or {}).get("template") or {}).get("template") or {}).get("containers") or [{}]
    spec["image"] = containers[0].get("image", spec.get("image"))
    fake.state["job_updates"].append({"job": job, "image": spec["image"]})
    op = f"{job.split('/jobs/')[0]}/operations/op-update-{next(_ids)}"
    fake.state["operations"][op] = {"job_response": _job(job, spec)}
    return 200, {"name": op, "done": False}


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
    fake.state["job_runs"].append({"job": job, "overrides": (request.body or {}).get("overrides"),
                                   "image": spec.get("image", "repo/app:terraform")})
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
    if "job_response" in entry:
        return 200, {"name": op, "done": True, "response": {"@type": JOB_TYPE, **entry["job_response"]}}
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
