"""Rollout and rollback: put an image live behind a health gate, or go back.

The flow (shared with the deploy checklist's rollout step): parse the image, check it exists in the registry
(exit 2 and nothing touched when it does not), take the deploy lock, roll out (ECS: new task definition
revision + watched deployment; Cloud Run: tagged revision with no traffic, health gate, traffic moves), verify
the health endpoint, and record start and outcome in the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops.errors import BillingOpsError, ConfigError, Refused, StepFailed, UsageError

if TYPE_CHECKING:
    from billingops.clouds.health import HealthChecker, HealthResult
    from billingops.clouds.rollout import ImageRegistry, Rollout, RolloutOutcome, Waiting
    from billingops.config import EnvConfig
    from billingops.session import Session
    from billingops.ui import UI

log = logging.getLogger(__name__)


@dataclass
class RolloutReport:
    env: str
    cloud: str
    image: str
    digest: str
    outcome: RolloutOutcome | None = None
    verify: HealthResult | None = None
    dry_run: bool = False
    current: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """Where the rollout goes and how long it may take: the command's --cluster/--service/... and timings."""

    cluster: str | None = None
    service: str | None = None
    container: str | None = None
    url: str | None = None
    timeout: float = 900.0
    poll_interval: float = 5.0
    health_timeout: float = 120.0

    def overrides(self) -> dict[str, str]:
        names = {"ecs_cluster_name": self.cluster, "service_name": self.service, "container_name": self.container}
        return {name: value for name, value in names.items() if value}


def rollout(session: Session, image: str, target: Target, *, canary: str | None = None, dry_run: bool = False,
            take_lock: bool = True, lock_wait: float = 0.0) -> RolloutReport:
    """`billingops rollout`: checked in the registry first, health-gated, rolled back when the gate fails."""
    from billingops.clouds.health import HealthChecker
    from billingops.clouds.rollout import Waiting

    env = session.env()
    steps = parse_canary(canary)
    outputs = resolve_outputs(env, target.overrides(), _needed(env, image))
    if env.is_prod and not dry_run and not session.ui.confirm(
            f"Roll out {image} to {env.name} ({env.cloud})?", flag="--yes"):
        raise Refused("The rollout to prod was not confirmed: nothing was changed.", hint="Answer y, or pass --yes.")
    health = HealthChecker(env.health_path, deadline=target.health_timeout,
                           interval=min(3.0, target.poll_interval))
    return perform_rollout(session, env, outputs, image, waiting=Waiting(target.timeout, target.poll_interval),
                           health=health, canary=steps, health_url=target.url, dry_run=dry_run,
                           take_lock=take_lock, lock_wait=lock_wait)


def rollback(session: Session, target: Target, *, to: str | None = None, take_lock: bool = True,
             lock_wait: float = 0.0) -> RolloutReport:
    """`billingops rollback`: the previous task definition / revision (or `to`), then the health endpoint."""
    from billingops.clouds import rollout_adapter
    from billingops.clouds.health import HealthChecker
    from billingops.clouds.rollout import Waiting
    from billingops.locks import deploy_lock
    from billingops.locks.heartbeat import fence_all

    env = session.env()
    outputs = resolve_outputs(env, target.overrides(), _needed(env, None))
    if env.is_prod and not session.ui.confirm(f"Roll back {env.name} ({env.cloud})?", flag="--yes"):
        raise Refused("The rollback of prod was not confirmed: nothing was changed.", hint="Answer y, or pass --yes.")
    adapter = rollout_adapter(env, outputs, health_url=target.url, fence=fence_all)
    audit = session.audit()
    audit.record("rollback.start", env=env.name, cloud=env.cloud, service=adapter.service, to=to or "previous")
    report = RolloutReport(env.name, env.cloud, "", "")
    try:
        with deploy_lock.hold(env, "rollback", enabled=take_lock, wait=lock_wait):
            outcome = adapter.rollback(to=to, waiting=Waiting(target.timeout, target.poll_interval),
                                       progress=session.ui.say)
            report.outcome = outcome
            report.image = outcome.image
            report.verify = verify_health(adapter, HealthChecker(env.health_path, deadline=target.health_timeout,
                                                                 interval=min(3.0, target.poll_interval)),
                                          session.ui)
    except (BillingOpsError, KeyboardInterrupt) as exc:
        audit.record("rollback.end", env=env.name, cloud=env.cloud, outcome=_outcome_of(exc), error=_text(exc))
        raise
    audit.record("rollback.end", env=env.name, cloud=env.cloud, outcome="ok", previous=outcome.previous,
                 current=outcome.current)
    return report


def perform_rollout(session: Session, env: EnvConfig, outputs: Mapping[str, Any], image_value: str, *,
                    waiting: Waiting, health: HealthChecker | None, canary: Sequence[int] = (100,),
                    health_url: str | None = None, dry_run: bool = False, wait: bool = True, verify: bool = True,
                    take_lock: bool = True, lock_wait: float = 0.0, adapter: Rollout | None = None,
                    registry: ImageRegistry | None = None
                    ) -> RolloutReport:
    """Check the image, roll it out under the deploy lock, verify; audit start and outcome.

    The deploy checklist already holds the deploy lock and passes take_lock=False.
    """
    from billingops.clouds import image_registry, rollout_adapter
    from billingops.clouds.rollout import default_repository
    from billingops.imageref import parse_image
    from billingops.locks import deploy_lock
    from billingops.locks.heartbeat import fence_all

    ref = parse_image(image_value, default_repository(env, outputs))
    registry = registry or image_registry(env, outputs)
    digest = registry.require(ref)
    session.ui.say(f"image {ref} found ({digest or 'digest unknown'})")
    adapter = adapter or rollout_adapter(env, outputs, health_url=health_url, fence=fence_all)
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
            outcome = adapter.deploy(str(ref), health=health, waiting=waiting, canary=canary, wait=wait,
                                     progress=session.ui.say)
            report.outcome = outcome
            if verify and health is not None:
                report.verify = verify_health(adapter, health, session.ui)
    except (BillingOpsError, KeyboardInterrupt) as exc:
        audit.record("rollout.end", env=env.name, cloud=env.cloud, image=str(ref), outcome=_outcome_of(exc),
                     error=_text(exc))
        raise
    audit.record("rollout.end", env=env.name, cloud=env.cloud, image=str(ref), outcome="ok",
                 previous=outcome.previous, current=outcome.current, status=outcome.status)
    return report


def verify_health(adapter: Rollout, health: HealthChecker, ui: UI) -> HealthResult | None:
    """GET the health endpoint through the load balancer / service URL; StepFailed when it never answers 2xx."""
    base = adapter.health_base_url()
    if not base:
        ui.warn("no load balancer / service URL is known: the health endpoint was not checked (pass --url)")
        return None
    result = health.check(base)
    if not result.ok:
        raise StepFailed(f"Verify failed: {result.describe()}.",
                         hint="The new image is live; check the service's logs, and run `billingops rollback` "
                              "to go back.")
    ui.say(f"verify: {result.describe()}")
    return result


def step_settings(env: EnvConfig) -> tuple[Waiting, HealthChecker]:
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


def resolve_outputs(env: EnvConfig, overrides: Mapping[str, str], needed: Sequence[str]) -> dict[str, Any]:
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


def _needed(env: EnvConfig, image: str | None) -> list[str]:
    from billingops.clouds import rollout_target_outputs

    needed = rollout_target_outputs(env)
    bare_tag = image is not None and "/" not in image
    if bare_tag and not env.image_repository:
        needed.append("image_repository_url")
    return needed
