"""`billingops rollout` and `billingops rollback`: put an image live behind a health gate, or go back.

The flow (shared with the deploy checklist's rollout step): parse --image, check the image exists in the
registry (exit 2 and nothing touched when it does not), take the deploy lock, roll out (ECS: new task
definition revision + watched deployment; Cloud Run: tagged revision with no traffic, health gate, traffic
moves), verify the health endpoint, and record start and outcome in the audit log.
"""

# No `from __future__ import annotations`: Typer must see the Annotated option objects, not strings (the
# with_session wrapper resolves string annotations in common.py's namespace, where these aliases are unknown).

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from billingops.commands.common import LockWaitOpt, NoLockOpt, Session, lock_wait_seconds, with_session
from billingops.errors import BillingOpsError, ConfigError, Refused, StepFailed, UsageError

if TYPE_CHECKING:
    from billingops.clouds.health import HealthChecker, HealthResult
    from billingops.clouds.rollout import ImageRegistry, Rollout, RolloutOutcome, Waiting
    from billingops.config import EnvConfig
    from billingops.console import Output

log = logging.getLogger(__name__)

TimeoutOpt = Annotated[float, typer.Option(
    "--timeout", min=1, help="Seconds to wait for the deployment / each traffic change before failing.")]
PollOpt = Annotated[float, typer.Option("--poll-interval", min=0.05, help="Seconds between progress checks.")]
HealthTimeoutOpt = Annotated[float, typer.Option(
    "--health-timeout", min=1, help="Seconds the health endpoint may take to answer 2xx (retried until then).")]
ClusterOpt = Annotated[str | None, typer.Option(
    "--cluster", help="ECS cluster (AWS; default: terraform output ecs_cluster_name).")]
ServiceOpt = Annotated[str | None, typer.Option(
    "--service", help="ECS / Cloud Run service (default: terraform output service_name).")]
ContainerOpt = Annotated[str | None, typer.Option(
    "--container", help="Container that runs the app image (AWS; default: terraform output container_name).")]
UrlOpt = Annotated[str | None, typer.Option(
    "--url", help="Base URL for the health check (default: terraform output load_balancer_url / service_url).")]


@dataclass
class RolloutReport:
    env: str
    cloud: str
    image: str
    digest: str
    outcome: "RolloutOutcome | None" = None
    verify: "HealthResult | None" = None
    dry_run: bool = False
    current: dict[str, str] = field(default_factory=dict)


def register(app: typer.Typer) -> None:
    app.command("rollout")(rollout)
    app.command("rollback")(rollback)


@with_session()
def rollout(
    session: Session,
    image: Annotated[str, typer.Option("--image", "-i", help="v1.2.3 (a tag in the env's repository), "
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
    from billingops.clouds.health import HealthChecker
    from billingops.clouds.rollout import Waiting

    env = session.env()
    steps = parse_canary(canary)
    overrides = _overrides(cluster=cluster, service=service, container=container)
    outputs = resolve_outputs(env, overrides, _needed(env, image))
    if env.is_prod and not dry_run and not session.output.confirm(
            f"Roll out {image} to {env.name} ({env.cloud})?", flag="--yes"):
        raise Refused("The rollout to prod was not confirmed: nothing was changed.", hint="Answer y, or pass --yes.")
    health = HealthChecker(env.health_path, deadline=health_timeout, interval=min(3.0, poll_interval))
    report = perform_rollout(session, env, outputs, image, waiting=Waiting(timeout, poll_interval), health=health,
                             canary=steps, health_url=url, dry_run=dry_run, take_lock=not no_lock,
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
    from billingops.clouds import rollout_adapter
    from billingops.clouds.health import HealthChecker
    from billingops.clouds.rollout import Waiting
    from billingops.locks import deploy_lock
    env = session.env()
    outputs = resolve_outputs(env, _overrides(cluster=cluster, service=service, container=container),
                              _needed(env, None))
    if env.is_prod and not session.output.confirm(f"Roll back {env.name} ({env.cloud})?", flag="--yes"):
        raise Refused("The rollback of prod was not confirmed: nothing was changed.", hint="Answer y, or pass --yes.")
    adapter = rollout_adapter(env, outputs, health_url=url)
    audit = session.audit()
    audit.record("rollback.start", env=env.name, cloud=env.cloud, service=adapter.service, to=to or "previous")
    report = RolloutReport(env.name, env.cloud, "", "")
    try:
        with deploy_lock.hold(env, "rollback", enabled=not no_lock, wait=lock_wait_seconds(lock_wait)):
            report.outcome = adapter.rollback(to=to, waiting=Waiting(timeout, poll_interval),
                                              progress=session.output.say)
            report.image = report.outcome.image
            report.verify = verify_health(adapter, HealthChecker(env.health_path, deadline=health_timeout,
                                                                 interval=min(3.0, poll_interval)), session.output)
    except (BillingOpsError, KeyboardInterrupt) as exc:
        audit.record("rollback.end", env=env.name, cloud=env.cloud, outcome=_outcome_of(exc), error=_text(exc))
        raise
    audit.record("rollback.end", env=env.name, cloud=env.cloud, outcome="ok", previous=report.outcome.previous,
                 current=report.outcome.current)
    session.output.result(report, lambda console: _render(session.output, console, report))


def perform_rollout(session: Session, env: "EnvConfig", outputs: Mapping[str, Any], image_value: str, *,
                    waiting: "Waiting", health: "HealthChecker | None", canary: Sequence[int] = (100,),
                    health_url: str | None = None, dry_run: bool = False, wait: bool = True, verify: bool = True,
                    take_lock: bool = True, lock_wait: float = 0.0, adapter: "Rollout | None" = None,
                    registry: "ImageRegistry | None" = None
                    ) -> RolloutReport:
    """Check the image, roll it out under the deploy lock, verify; audit start and outcome.

    The deploy checklist already holds the deploy lock and passes take_lock=False.
    """
    from billingops.clouds import image_registry, rollout_adapter
    from billingops.clouds.rollout import default_repository
    from billingops.imageref import parse_image
    from billingops.locks import deploy_lock
    ref = parse_image(image_value, default_repository(env, outputs))
    registry = registry or image_registry(env, outputs)
    digest = registry.require(ref)
    session.output.say(f"image {ref} found ({digest or 'digest unknown'})")
    adapter = adapter or rollout_adapter(env, outputs, health_url=health_url)
    report = RolloutReport(env.name, env.cloud, str(ref), digest, dry_run=dry_run)
    if dry_run:
        current = adapter.current()
        report.current = {"revision": current.name, "image": current.image}
        return report
    audit = session.audit()
    audit.record("rollout.start", env=env.name, cloud=env.cloud, service=adapter.service, image=str(ref),
                 digest=digest)
    try:
        with deploy_lock.hold(env, "rollout", enabled=take_lock, wait=lock_wait):
            report.outcome = adapter.deploy(str(ref), health=health, waiting=waiting, canary=canary, wait=wait,
                                            progress=session.output.say)
            if verify and health is not None:
                report.verify = verify_health(adapter, health, session.output)
    except (BillingOpsError, KeyboardInterrupt) as exc:
        audit.record("rollout.end", env=env.name, cloud=env.cloud, image=str(ref), outcome=_outcome_of(exc),
                     error=_text(exc))
        raise
    audit.record("rollout.end", env=env.name, cloud=env.cloud, image=str(ref), outcome="ok",
                 previous=report.outcome.previous, current=report.outcome.current, status=report.outcome.status)
    return report


def verify_health(adapter: "Rollout", health: "HealthChecker", output: "Output") -> "HealthResult | None":
    """GET the health endpoint through the load balancer / service URL; StepFailed when it never answers 2xx."""
    base = adapter.health_base_url()
    if not base:
        output.warn("no load balancer / service URL is known: the health endpoint was not checked (pass --url)")
        return None
    result = health.check(base)
    if not result.ok:
        raise StepFailed(f"Verify failed: {result.describe()}.",
                         hint="The new image is live; check the service's logs, and run `billingops rollback` "
                              "to go back.")
    output.say(f"verify: {result.describe()}")
    return result


def step_settings(env: "EnvConfig") -> tuple["Waiting", "HealthChecker"]:
    """Waiting and health gate for the deploy checklist's steps, which have no --timeout flags of their own:
    BILLINGOPS_ROLLOUT_TIMEOUT, BILLINGOPS_ROLLOUT_POLL and BILLINGOPS_HEALTH_TIMEOUT (seconds) override them."""
    from billingops.clouds.health import HealthChecker
    from billingops.clouds.rollout import Waiting
    from billingops.config import tunables

    knobs = tunables()
    timeout, poll, health = knobs.rollout_timeout, knobs.rollout_poll, knobs.health_timeout
    return Waiting(timeout, poll), HealthChecker(env.health_path, deadline=health, interval=min(3.0, poll))


def _outcome_of(exc: BaseException) -> str:
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"


def _text(exc: BaseException) -> str:
    # Ctrl-C in the middle of a rollout leaves the service where ECS / Cloud Run got to: say so in the audit.
    return exc.message if isinstance(exc, BillingOpsError) else "interrupted (Ctrl-C) during the rollout"


def parse_canary(text: str | None) -> list[int]:
    if not text:
        return [100]
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--canary {text!r} is not a comma-separated list of percentages.",
                         hint="Pass increasing percentages ending at 100, e.g. --canary 10,50,100.") from None
    if not steps or steps[-1] != 100 or any(not 0 < s <= 100 for s in steps) or steps != sorted(set(steps)):
        raise UsageError(f"--canary {text!r}: the steps must be increasing percentages between 1 and 100 and end "
                         "at 100.", hint="For example --canary 10,50,100.")
    return steps


def resolve_outputs(env: "EnvConfig", overrides: Mapping[str, str], needed: Sequence[str]) -> dict[str, Any]:
    """Flags first; terraform's outputs only when a needed value was not given as a flag."""
    if all(overrides.get(name) for name in needed):
        return dict(overrides)
    from billingops.terraform.runner import Terraform

    try:
        outputs = Terraform.for_env(env).outputs()
    except ConfigError as exc:
        raise ConfigError(exc.message, hint=exc.hint + " Or pass --cluster/--service (AWS) / --service (GCP) and a "
                          "full REPOSITORY:TAG image, which need no terraform.") from None
    return {**outputs, **{k: v for k, v in overrides.items() if v}}


def _overrides(**flags: str | None) -> dict[str, str]:
    names = {"cluster": "ecs_cluster_name", "service": "service_name", "container": "container_name"}
    return {names[k]: v for k, v in flags.items() if v}


def _needed(env: "EnvConfig", image: str | None) -> list[str]:
    needed = ["ecs_cluster_name", "service_name"] if env.cloud == "aws" else ["service_name"]
    bare_tag = image is not None and "/" not in image
    if bare_tag and not env.image_repository:
        needed.append("image_repository_url")
    return needed


def _render(output: "Output", console: Any, report: RolloutReport) -> None:
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
