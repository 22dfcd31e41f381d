"""Cloud Run Admin API v2 on GcpFake: services GET/PATCH (updateMask, allowMissing, etag), revisions list/get,
long-running operations. Enough of the real wire format for google.cloud.run_v2 over REST.

    fake = GcpFake.start(); install(fake, url_for=...)
    seed_service(fake, "proj", "us-central1", "billing-dev", image="...:v1")

Behaviour a test can steer through `fake.state["run"]`:
  fail_images: set of images whose new revision fails to become ready (the operation ends with an error)
  ignore_traffic: number of traffic-only PATCHes that leave traffic as it was (-1: all), like a service whose
                  traffic something else keeps pinned
  url_for(service_name, tag_or_None, revision_or_None) -> URL: the service URL and the tagged URLs
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from tests.support.gcp_fake import GcpFake, Request, error

SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
_BASE = r"/v2/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"


def install(fake: GcpFake, *, url_for: Any = None) -> dict[str, Any]:
    state = fake.state.setdefault(
        "run",
        {
            "services": {},
            "revisions": {},
            "operations": {},
            "jobs": {},
            "fail_images": set(),
            "ignore_traffic": 0,
            "ids": itertools.count(1),
            "url_for": url_for or _default_url,
        },
    )
    fake.route("GET", _BASE + r"/services/(?P<service>[^/:]+)", _get_service)
    fake.route("PATCH", _BASE + r"/services/(?P<service>[^/:]+)", _patch_service)
    fake.route("GET", _BASE + r"/services/(?P<service>[^/:]+)/revisions", _list_revisions)
    fake.route("GET", _BASE + r"/services/(?P<service>[^/:]+)/revisions/(?P<revision>[^/:]+)", _get_revision)
    fake.route("GET", _BASE + r"/operations/(?P<operation>[^/:]+)", _get_operation)
    return state


def seed_service(
    fake: GcpFake,
    project: str,
    location: str,
    service: str,
    *,
    image: str,
    revision: str | None = None,
    pinned: bool = True,
) -> dict[str, Any]:
    """A service with one ready revision serving 100% (pinned to it by name, or through LATEST)."""
    state = fake.state["run"]
    name = f"projects/{project}/locations/{location}/services/{service}"
    revision = revision or f"{service}-00001-abc"
    svc = {
        "name": name,
        "generation": "1",
        "etag": '"1"',
        "template": {"revision": revision, "containers": [{"image": image}]},
        "traffic": [
            {"type": REVISION, "revision": revision, "percent": 100}
            if pinned
            else {"type": LATEST, "percent": 100}
        ],
    }
    state["services"][name] = svc
    _add_revision(state, svc, revision, image)
    _settle(state, svc)
    return svc


def serving(fake: GcpFake, service_name: str) -> dict[str, int]:
    """revision -> percent, as the fake currently routes requests."""
    svc = fake.state["run"]["services"][service_name]
    out: dict[str, int] = {}
    for status in svc.get("trafficStatuses", []):
        if status.get("percent"):
            revision = status.get("revision") or svc["latestReadyRevision"].rsplit("/", 1)[-1]
            out[revision] = out.get(revision, 0) + status["percent"]
    return out


def _default_url(service: str, tag: str | None, revision: str | None) -> str:
    return f"https://{tag + '---' if tag else ''}{service}-abc123-uc.a.run.app"


def _get_service(
    fake: GcpFake, request: Request, project: str, location: str, service: str
) -> tuple[int, Any]:
    svc = fake.state["run"]["services"].get(f"projects/{project}/locations/{location}/services/{service}")
    return (
        (200, svc)
        if svc
        else error(404, f"Resource '{service}' of kind 'SERVICE' was not found.", "NOT_FOUND")
    )


def _patch_service(
    fake: GcpFake, request: Request, project: str, location: str, service: str
) -> tuple[int, Any]:
    state = fake.state["run"]
    name = f"projects/{project}/locations/{location}/services/{service}"
    current = state["services"].get(name)
    body = request.body or {}
    if current is None:
        return error(404, f"Resource '{service}' of kind 'SERVICE' was not found.", "NOT_FOUND")
    if body.get("etag") and body["etag"] != current["etag"]:
        return error(409, "The service was modified concurrently (etag mismatch).", "ABORTED")
    mask = [f for f in (request.param("updateMask") or "").split(",") if f] or ["template", "traffic"]
    new = copy.deepcopy(current)
    operation = _new_operation(state, location, project)
    new_revision = "template" in mask and body.get("template") and body["template"] != current["template"]
    if new_revision:
        template = body["template"]
        revision = template.get("revision") or f"{service}-{next(state['ids']):05d}-xyz"
        if any(r.rsplit("/", 1)[-1] == revision for r in state["revisions"]):
            return error(409, f"Revision named '{revision}' already exists.", "ALREADY_EXISTS")
        image = (template.get("containers") or [{}])[0].get("image", "")
        if image in state["fail_images"]:
            _add_revision(state, new, revision, image, ready=False)
            operation["error"] = {
                "code": 9,
                "message": f"Revision '{revision}' is not ready and cannot serve "
                "traffic. The user-provided container failed to start and listen on the port.",
            }
            state["operations"][operation["name"]] = operation
            return 200, {"name": operation["name"], "done": False}
        new["template"] = template
        _add_revision(state, new, revision, image)
    if "traffic" in mask and "traffic" in body:
        if state["ignore_traffic"] and not new_revision:
            state["ignore_traffic"] -= 1 if state["ignore_traffic"] > 0 else 0
        else:
            problem = _check_traffic(state, new, body["traffic"])
            if problem:
                return error(400, problem, "INVALID_ARGUMENT")
            new["traffic"] = [_normalise(t) for t in body["traffic"]]
    new["generation"] = str(int(current["generation"]) + 1)
    new["etag"] = f'"{new["generation"]}"'
    _settle(state, new)
    state["services"][name] = new
    operation["response"] = {"@type": SERVICE_TYPE, **new}
    state["operations"][operation["name"]] = operation
    return 200, {"name": operation["name"], "done": False, "metadata": {"@type": SERVICE_TYPE, **new}}


def _list_revisions(
    fake: GcpFake, request: Request, project: str, location: str, service: str
) -> tuple[int, Any]:
    prefix = f"projects/{project}/locations/{location}/services/{service}/revisions/"
    revisions = [r for n, r in fake.state["run"]["revisions"].items() if n.startswith(prefix)]
    return 200, {"revisions": sorted(revisions, key=lambda r: r["createTime"], reverse=True)}


def _get_revision(
    fake: GcpFake, request: Request, project: str, location: str, service: str, revision: str
) -> tuple[int, Any]:
    rev = fake.state["run"]["revisions"].get(
        f"projects/{project}/locations/{location}/services/{service}/revisions/{revision}"
    )
    return (200, rev) if rev else error(404, f"Revision '{revision}' was not found.", "NOT_FOUND")


def _get_operation(
    fake: GcpFake, request: Request, project: str, location: str, operation: str
) -> tuple[int, Any]:
    op = fake.state["run"]["operations"].get(
        f"projects/{project}/locations/{location}/operations/{operation}"
    )
    if op is None:
        return error(404, f"Operation '{operation}' was not found.", "NOT_FOUND")
    done = {"name": op["name"], "done": True}
    return 200, {**done, "error": op["error"]} if op.get("error") else {**done, "response": op["response"]}


def _new_operation(state: dict[str, Any], location: str, project: str) -> dict[str, Any]:
    return {"name": f"projects/{project}/locations/{location}/operations/op-{next(state['ids'])}"}


def _add_revision(
    state: dict[str, Any], svc: dict[str, Any], revision: str, image: str, *, ready: bool = True
) -> None:
    number = next(state["ids"])
    full = f"{svc['name']}/revisions/{revision}"
    state["revisions"][full] = {
        "name": full,
        "service": svc["name"],
        "createTime": f"2026-01-01T00:{number // 60:02d}:{number % 60:02d}Z",
        "containers": [{"image": image}],
        "conditions": [{"type": "Ready", "state": "CONDITION_SUCCEEDED" if ready else "CONDITION_FAILED"}],
    }
    svc["latestCreatedRevision"] = full
    if ready:
        svc["latestReadyRevision"] = full


def _normalise(target: dict[str, Any]) -> dict[str, Any]:
    # The REST clients send enums as numbers; the API stores (and answers with) their names.
    names = {0: "TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED", 1: LATEST, 2: REVISION}
    kind = target.get("type")
    return {**target, "type": names.get(kind, kind) if isinstance(kind, int) else kind}


def _check_traffic(state: dict[str, Any], svc: dict[str, Any], traffic: list[dict[str, Any]]) -> str:
    if sum(t.get("percent", 0) for t in traffic) != 100:
        return "Traffic percentages must add up to 100."
    for target in map(_normalise, traffic):
        if (
            target.get("type") == REVISION
            and f"{svc['name']}/revisions/{target.get('revision')}" not in state["revisions"]
        ):
            return f"Revision '{target.get('revision')}' referenced in traffic not found."
    return ""


def _settle(state: dict[str, Any], svc: dict[str, Any]) -> None:
    service = svc["name"].rsplit("/", 1)[-1]
    svc["uri"] = state["url_for"](service, None, None)
    svc["observedGeneration"] = svc["generation"]
    svc["reconciling"] = False
    statuses = []
    for target in svc["traffic"]:
        status = {k: v for k, v in target.items() if k in ("type", "revision", "percent", "tag")}
        if target.get("tag"):
            status["uri"] = state["url_for"](service, target["tag"], target.get("revision"))
        statuses.append(status)
    svc["trafficStatuses"] = statuses
