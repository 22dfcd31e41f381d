"""What the Cloud Run gate reads instead of the run.app URL: a revision's Ready condition and startup probe,
and the check that a health URL is one the service's ingress lets through."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from billingops.errors import UsageError


def app_index(template: Any) -> int:
    # The ingress container is the one that declares a port; a single container is the app.
    containers = list(template.containers)
    with_ports = [i for i, c in enumerate(containers) if c.ports]
    return with_ports[0] if len(with_ports) == 1 else 0


def ready_state(revision: Any) -> tuple[str, str]:
    """The Ready condition's state name and message ("" when the revision carries none yet)."""
    for condition in revision.conditions:
        if condition.type_ == "Ready":
            return condition.state.name, condition.message
    return "", ""


def probe_path(revision: Any) -> str:
    """Path of the app container's HTTP startup probe ("" for none: Cloud Run's default TCP probe)."""
    if not revision.containers:
        return ""
    container = revision.containers[app_index(revision)]
    return container.startup_probe.http_get.path if "startup_probe" in container and \
        "http_get" in container.startup_probe else ""


def refuse_run_app(url: str | None, svc: Any) -> None:
    """A run.app health URL on a service whose ingress is not ALL would fail every gate: say so before starting."""
    from google.cloud import run_v2

    host = (urlsplit(url).hostname or "") if url else ""
    if host.endswith(".run.app") and svc.ingress != run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL:
        raise UsageError(f"The health URL {url} is a run.app URL, which the service's ingress "
                         f"({svc.ingress.name}) refuses from outside Google: the health gate could never pass.",
                         hint="Pass the load balancer's URL (--url https://<domain>), or leave --url out to use "
                              "the terraform output load_balancer_url.")
