"""Artifact Registry API v1 on GcpFake: docker package tags and versions, as billingops' registry check reads them.

install(fake); push(fake, "us-central1-docker.pkg.dev/proj/app/billing", "v2")
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import unquote

from tests.support.gcp_fake import GcpFake, Request, error

_PACKAGE = (
    r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/repositories/(?P<repository>[^/]+)"
    r"/packages/(?P<package>[^/]+)"
)


def install(fake: GcpFake) -> dict[str, Any]:
    state = fake.state.setdefault("artifactregistry", {"tags": {}, "versions": set()})
    fake.route("GET", _PACKAGE + r"/tags/(?P<tag>[^/]+)", _get_tag)
    fake.route("GET", _PACKAGE + r"/versions/(?P<version>[^/]+)", _get_version)
    return state


def push(fake: GcpFake, repository: str, tag: str) -> str:
    """Record an image `repository:tag` (LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE); returns its digest."""
    host, project, repo, package = repository.split("/", 3)
    location = host.removesuffix("-docker.pkg.dev")
    digest = "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    prefix = _prefix(project, location, repo, package)
    state = fake.state["artifactregistry"]
    state["tags"][f"{prefix}/tags/{tag}"] = f"{prefix}/versions/{digest}"
    state["versions"].add(f"{prefix}/versions/{digest}")
    return digest


def exists(fake: GcpFake, image: str) -> bool:
    """Whether `repository:tag` (or `repository@digest`) was pushed."""
    if "@" in image:
        repository, digest = image.split("@", 1)
    else:
        repository, digest = image.rsplit(":", 1)[0], None
    host, project, repo, package = repository.split("/", 3)
    prefix = _prefix(project, host.removesuffix("-docker.pkg.dev"), repo, package)
    state = fake.state["artifactregistry"]
    if digest:
        return f"{prefix}/versions/{digest}" in state["versions"]
    return f"{prefix}/tags/{image.rsplit(':', 1)[1]}" in state["tags"]


def _prefix(project: str, location: str, repository: str, package: str) -> str:
    return f"projects/{project}/locations/{location}/repositories/{repository}/packages/{unquote(package)}"


def _get_tag(
    fake: GcpFake, request: Request, project: str, location: str, repository: str, package: str, tag: str
) -> tuple[int, Any]:
    name = f"{_prefix(project, location, repository, package)}/tags/{unquote(tag)}"
    version = fake.state["artifactregistry"]["tags"].get(name)
    return (
        (200, {"name": name, "version": version})
        if version
        else error(404, f"Tag {name} not found.", "NOT_FOUND")
    )


def _get_version(
    fake: GcpFake, request: Request, project: str, location: str, repository: str, package: str, version: str
) -> tuple[int, Any]:
    name = f"{_prefix(project, location, repository, package)}/versions/{unquote(version)}"
    found = name in fake.state["artifactregistry"]["versions"]
    return (200, {"name": name}) if found else error(404, f"Version {name} not found.", "NOT_FOUND")
