"""`billingops rollout` and `billingops rollback`: put an image live behind a health gate, or go back.

Options only: the flow (shared with the deploy checklist's rollout step) is services/rollout.py.
"""

# No `from __future__ import annotations`: Typer must see the Annotated option objects, not strings (the
# with_session wrapper resolves string annotations in common.py's namespace, where these aliases are unknown).

import logging
from typing import TYPE_CHECKING, Annotated, Any

import typer

from billingops.commands.common import (
    LockWaitOpt,
    NoLockOpt,
    Session,
    check_image,
    duration_option,
    lock_wait_seconds,
    with_session,
)
from billingops.services import rollout as use_case

if TYPE_CHECKING:
    from billingops.console import Output

log = logging.getLogger(__name__)

TimeoutOpt = Annotated[float, duration_option(
    "--timeout", minimum=1, help="How long to wait for the deployment / each traffic change before failing.")]
PollOpt = Annotated[float, duration_option("--poll-interval", minimum=0.05, help="Time between progress checks.")]
HealthTimeoutOpt = Annotated[float, duration_option(
    "--health-timeout", minimum=1, help="How long the health endpoint may take to answer 2xx (retried until then).")]
ClusterOpt = Annotated[str | None, typer.Option(
    "--cluster", help="ECS cluster (AWS; default: terraform output ecs_cluster_name).")]
ServiceOpt = Annotated[str | None, typer.Option(
    "--service", help="ECS / Cloud Run service (default: terraform output service_name).")]
ContainerOpt = Annotated[str | None, typer.Option(
    "--container", help="Container that runs the app image (AWS; default: terraform output container_name).")]
UrlOpt = Annotated[str | None, typer.Option(
    "--url", help="Base URL for the health check (default: terraform output load_balancer_url).")]


def register(app: typer.Typer) -> None:
    app.command("rollout")(rollout)
    app.command("rollback")(rollback)


@with_session()
def rollout(
    session: Session,
    image: Annotated[str, typer.Option("--image", "-i", metavar="IMAGE", callback=check_image,
                                       help="v1.2.3 (a tag in the env's repository), "
                                       "REPOSITORY:TAG or REPOSITORY@sha256:DIGEST.")],
    canary: Annotated[str | None, typer.Option("--canary", metavar="10,50,100", help="Cloud Run: move traffic in "
                                               "these percent steps, health-checking between them.")] = None,
    timeout: TimeoutOpt = 900.0,
    poll_interval: PollOpt = 5.0,
    health_timeout: HealthTimeoutOpt = 120.0,
    cluster: ClusterOpt = None,
    service: ServiceOpt = None,
    container: ContainerOpt = None,
    url: UrlOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the image and show what would change; "
                                          "change nothing.")] = False,
    no_lock: NoLockOpt = False,
    lock_wait: LockWaitOpt = None,
) -> None:
    """Roll out an image: checked in the registry first, health-gated, rolled back when the gate fails."""
    target = use_case.Target(cluster=cluster, service=service, container=container, url=url, timeout=timeout,
                             poll_interval=poll_interval, health_timeout=health_timeout)
    report = use_case.rollout(session, image, target, canary=canary, dry_run=dry_run, take_lock=not no_lock,
                              lock_wait=lock_wait_seconds(lock_wait))
    session.output.result(report, lambda console: _render(session.output, console, report))


@with_session()
def rollback(
    session: Session,
    to: Annotated[str | None, typer.Option("--to", metavar="REVISION", help="AWS: FAMILY:REV, an ARN or a "
                                           "revision number; GCP: a revision name. Default: the previous one.")] = None,
    timeout: TimeoutOpt = 900.0,
    poll_interval: PollOpt = 5.0,
    health_timeout: HealthTimeoutOpt = 120.0,
    cluster: ClusterOpt = None,
    service: ServiceOpt = None,
    container: ContainerOpt = None,
    url: UrlOpt = None,
    no_lock: NoLockOpt = False,
    lock_wait: LockWaitOpt = None,
) -> None:
    """Go back to the previous task definition / revision (or --to one), then verify the health endpoint."""
    target = use_case.Target(cluster=cluster, service=service, container=container, url=url, timeout=timeout,
                             poll_interval=poll_interval, health_timeout=health_timeout)
    report = use_case.rollback(session, target, to=to, take_lock=not no_lock, lock_wait=lock_wait_seconds(lock_wait))
    session.output.result(report, lambda console: _render(session.output, console, report))


def _render(output: "Output", console: Any, report: use_case.RolloutReport) -> None:
    rows: list[tuple[str, str]] = [("environment", f"{report.env} ({report.cloud})")]
    if report.image:
        rows.append(("image", report.image + (f" ({report.digest})" if report.digest else "")))
    if report.dry_run:
        rows += [("serving now", f"{report.current.get('revision')} ({report.current.get('image')})"),
                 ("would deploy", report.image), ("changed", "nothing (--dry-run)")]
    outcome = report.outcome
    if outcome is not None:
        rows += [("service", outcome.service), ("previous", outcome.previous), ("now", outcome.current),
                 ("status", outcome.status), ("seconds", str(outcome.seconds))]
        if outcome.traffic_steps:
            rows.append(("traffic steps", ", ".join(f"{p}%" for p in outcome.traffic_steps)))
        rows += [("note", note) for note in outcome.notes]
    if report.verify is not None:
        rows.append(("verify", report.verify.describe()))
    title = "Rollback" if outcome is not None and outcome.action == "rollback" else "Rollout"
    console.print(output.table(title, ["", ""], rows))
