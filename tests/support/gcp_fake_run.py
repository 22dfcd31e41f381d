"""Cloud Run Admin API v2 on GcpFake: services GET/PATCH (updateMask, allowMissing, etag), revisions list/get,
long-running operations. Enough of the real wire format for google.cloud.run_v2 over REST.

    fake = GcpFake.start(); install(fake, url_for=...)
    seed_service(fake, "proj", "us-central1", "billing-dev", image="...:v1")

The run.app URLs it hands out (the service's `uri`, each tag's `uri`) point at this fake's own frontend,
`GET /run.app/<host>/<path>`, which answers as Google's frontend does: a service whose ingress is not
INGRESS_TRAFFIC_ALL (the module's INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER) refuses a request from outside with
404 and Google's HTML "Page not found" page, before any revision sees it. (Cloud Run's ingress page does not
name the code; 404 is what such requests are reported to get, 403 being the invoker-IAM refusal.)

A new revision is Ready only when its startup probe passes, as on Cloud Run: the container's
`startupProbe.httpGet.path` is asked through `startup_probe(revision, image, path) -> HTTP status` (2xx passes);
a revision with no HTTP startup probe gets Cloud Run's default TCP probe, which passes. A revision that is not
Ready carries a failed Ready condition and the update operation ends with Cloud Run's error.

Behaviour a test can steer through `fake.state["run"]`:
  fail_images: set of images whose new revision fails to become ready (the operation ends with an error)
  startup_probe(revision, image, path) -> status: the revision's answer to its startup probe (default 200)
  ignore_traffic: number of traffic-only PATCHes that leave traffic as it was (-1: all), like a service whose
                  traffic something else keeps pinned
  url_for(service_name, tag_or_None, revision_or_None) -> URL: the service URL and the tagged URLs
  frontend_requests: every request that reached the run.app frontend (host, path, status)
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from tests.support.gcp_fake import GcpFake, Raw, Request, error

SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
_BASE = r"/v2/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
INTERNAL_LB = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
ALL = "INGRESS_TRAFFIC_ALL"
# The page Google's frontend serves for a URL it will not route (here: a request the ingress setting refuses).
_NOT_FOUND_PAGE = (
    "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n"
    "  <p><b>404.</b> <ins>That\u2019s an error.</ins>\n  <p>The requested URL <code>{path}</code> was not found "
    "on this server.  <ins>That\u2019s all we know.</ins>\n"
)


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
            "url_for": url_for or _frontend_url(fake),
            "startup_probe": lambda revision, image, path: 200,
            "hosts": {},
            "frontend_requests": [],
        },
    )
    fake.route("GET", r"/run\.app/(?P<host>[^/]+)(?P<path>/.*)?", _frontend)
    fake.route("POST", _BASE + r"/services", _create_service)
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
    ingress: str = INTERNAL_LB,
    startup_probe_path: str | None = "/health",
) -> dict[str, Any]:
    """A service with one ready revision serving 100% (pinned to it by name, or through LATEST), with the
    module's ingress (load balancer only) and startup probe (GET the health path) unless told otherwise."""
    state = fake.state["run"]
    name = f"projects/{project}/locations/{location}/services/{service}"
    revision = revision or f"{service}-00001-abc"
    container: dict[str, Any] = {"image": image}
    if startup_probe_path:
        container["startupProbe"] = {"httpGet": {"path": startup_probe_path}, "periodSeconds": 5,
                                     "failureThreshold": 12}
    svc = {
        "name": name,
        "generation": "1",
        "etag": '"1"',
        "ingress": ingress,
        "template": {"revision": revision, "containers": [container]},
        "traffic": [
            {"type": REVISION, "revision": revision, "percent": 100}
            if pinned
            else {"type": LATEST, "percent": 100}
        ],
    }
    state["services"][name] = svc
    _add_revision(state, svc, revision, container)
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


def _frontend_url(fake: GcpFake) -> Any:
    def url_for(service: str, tag: str | None, revision: str | None) -> str:
        return f"{fake.url}/run.app/{tag + '---' if tag else ''}{service}-abc123-uc.a.run.app"

    return url_for


def _frontend(fake: GcpFake, request: Request, host: str, path: str | None) -> tuple[int, Any]:
    """A request to a run.app URL from outside Google: only a service with ingress ALL lets it through."""
    state = fake.state["run"]
    path = path or "/"
    target = state["hosts"].get(host)
    svc = state["services"].get(target[0]) if target else None
    if svc is None or svc.get("ingress", ALL) != ALL:
        state["frontend_requests"].append((host, path, 404))
        return 404, Raw(_NOT_FOUND_PAGE.format(path=path))
    tag = target[1]
    revision = next((t.get("revision") for t in svc["traffic"] if tag and t.get("tag") == tag), None)
    revision = revision or max(serving(fake, svc["name"]).items(), key=lambda kv: kv[1])[0]
    rev = state["revisions"][f"{svc['name']}/revisions/{revision}"]
    status = state["startup_probe"](revision, rev["containers"][0].get("image", ""), path)
    state["frontend_requests"].append((host, path, status))
    return status, {"status": "ok" if status < 300 else "bad"}


def _get_service(
    fake: GcpFake, request: Request, project: str, location: str, service: str
) -> tuple[int, Any]:
    svc = fake.state["run"]["services"].get(f"projects/{project}/locations/{location}/services/{service}")
    return (
        (200, svc)
        if svc
        else error(404, f"Resource '{service}' of kind 'SERVICE' was not found.", "NOT_FOUND")
    )


def _create_service(fake: GcpFake, request: Request, project: str, location: str) -> tuple[int, Any]:
    """services.create (what terraform's google_cloud_run_v2_service does). The first revision is Ready only when
    every secret it mounts has a version and its image exists (checked against the Secret Manager and Artifact
    Registry fakes when they share this server), as on Cloud Run; otherwise the operation ends with the error."""
    state = fake.state["run"]
    service = request.param("serviceId") or ""
    name = f"projects/{project}/locations/{location}/services/{service}"
    if name in state["services"]:
        return error(409, f"Resource '{service}' already exists.", "ALREADY_EXISTS")
    body = request.body or {}
    template = body.get("template") or {}
    container = (template.get("containers") or [{}])[0]
    revision = template.get("revision") or f"{service}-00001-new"
    failure = _missing_dependency(fake, project, container) or _startup_failure(state, revision, container)
    operation = _new_operation(state, location, project)
    svc = {"name": name, "generation": "1", "etag": '"1"', "ingress": body.get("ingress", ALL),
           "template": {**template, "revision": revision},
           "traffic": body.get("traffic") or [{"type": LATEST, "percent": 100}]}
    svc["traffic"] = [_normalise(t) for t in svc["traffic"]]
    if failure:
        operation["error"] = {"code": 9, "message": f"Revision '{revision}' is not ready and cannot serve traffic. "
                                                    f"{failure}"}
    else:
        state["services"][name] = svc
        _add_revision(state, svc, revision, container)
        _settle(state, svc)
        operation["response"] = {"@type": SERVICE_TYPE, **svc}
    state["operations"][operation["name"]] = operation
    return 200, {"name": operation["name"], "done": False}


def _missing_dependency(fake: GcpFake, project: str, container: dict[str, Any]) -> str:
    secrets = fake.state.get("secretmanager")
    for env in container.get("env") or []:
        ref = (env.get("valueSource") or {}).get("secretKeyRef")
        if not ref or secrets is None:
            continue
        secret = ref["secret"]
        secret = secret if secret.startswith("projects/") else f"projects/{project}/secrets/{secret}"
        versions = [v for v in (secrets.get(secret) or {}).get("versions", []) if v["state"] == "ENABLED"]
        if not versions:
            return (f"spec.template.spec.containers[0].env.value_from.secret_key_ref.name: Secret "
                    f"{secret}/versions/{ref.get('version', 'latest')} was not found")
    registry = fake.state.get("artifactregistry")
    image = container.get("image", "")
    if registry is not None and ".pkg.dev/" in image:
        from tests.support import gcp_fake_artifactregistry

        if not gcp_fake_artifactregistry.exists(fake, image):
            return f"Image '{image}' not found."
    return ""


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
        container = (template.get("containers") or [{}])[0]
        failure = _startup_failure(state, revision, container)
        if failure:
            _add_revision(state, new, revision, container, failure=failure)
            operation["error"] = {
                "code": 9,
                "message": f"Revision '{revision}' is not ready and cannot serve traffic. {failure}",
            }
            state["operations"][operation["name"]] = operation
            return 200, {"name": operation["name"], "done": False}
        new["template"] = template
        _add_revision(state, new, revision, container)
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


def _startup_failure(state: dict[str, Any], revision: str, container: dict[str, Any]) -> str:
    """Why the new revision does not become Ready, or "" when its startup probe passes."""
    image = container.get("image", "")
    if image in state["fail_images"]:
        return "The user-provided container failed to start and listen on the port."
    path = ((container.get("startupProbe") or {}).get("httpGet") or {}).get("path")
    if path is None:  # Cloud Run's default startup probe: a TCP connection to the port
        return ""
    status = state["startup_probe"](revision, image, path)
    if 200 <= status < 400:
        return ""
    return (f"The user-provided container failed the configured startup probe checks "
            f"(HTTP GET {path} answered {status}).")


def _add_revision(
    state: dict[str, Any], svc: dict[str, Any], revision: str, container: dict[str, Any], *, failure: str = ""
) -> None:
    number = next(state["ids"])
    full = f"{svc['name']}/revisions/{revision}"
    ready = {"type": "Ready", "state": "CONDITION_FAILED" if failure else "CONDITION_SUCCEEDED"}
    if failure:
        ready.update(reason="HEALTH_CHECK_CONTAINER_ERROR", message=failure)
    state["revisions"][full] = {
        "name": full,
        "service": svc["name"],
        "createTime": f"2026-01-01T00:{number // 60:02d}:{number % 60:02d}Z",
        "containers": [copy.deepcopy(container)],
        "conditions": [ready],
    }
    svc["latestCreatedRevision"] = full
    if not failure:
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
    state["hosts"][_host(svc["uri"])] = (svc["name"], None)
    svc["observedGeneration"] = svc["generation"]
    svc["reconciling"] = False
    statuses = []
    for target in svc["traffic"]:
        status = {k: v for k, v in target.items() if k in ("type", "revision", "percent", "tag")}
        if target.get("tag"):
            status["uri"] = state["url_for"](service, target["tag"], target.get("revision"))
            state["hosts"][_host(status["uri"])] = (svc["name"], target["tag"])
        statuses.append(status)
    svc["trafficStatuses"] = statuses


def _host(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].removeprefix("https://")
