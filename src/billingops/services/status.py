"""`billingops status`: service, database, cache, state lock and the last deploy of an environment.

Each section is collected on its own: a section that cannot be read (no credentials, a missing output, a
cloud error) shows `unknown: <reason>` and the others still show, because at 3 a.m. half a picture beats none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from billingops.config import EnvConfig
from billingops.errors import BillingOpsError

if TYPE_CHECKING:
    from billingops.session import Session

log = logging.getLogger(__name__)


@dataclass
class Identifiers:
    """What to look at; flags first, then terraform outputs."""

    cluster: str | None = None
    service: str | None = None
    db_instance: str | None = None
    cache_id: str | None = None
    container: str | None = None
    project: str | None = None
    task_definition: str | None = None  # terraform's latest revision (AWS), to show a serving revision's lag

    def fill_from(self, outputs: dict[str, Any], env: EnvConfig) -> None:
        self.cluster = self.cluster or outputs.get("ecs_cluster_name")
        self.service = self.service or outputs.get("service_name") or env.service_name
        self.db_instance = self.db_instance or outputs.get("database_instance")
        self.cache_id = self.cache_id or outputs.get("cache_id")
        self.container = self.container or outputs.get("container_name")
        self.project = self.project or outputs.get("project_id") or env.gcp_project
        self.task_definition = self.task_definition or outputs.get("task_definition_arn")


@dataclass
class Section:
    """A section's data, or why it is unknown."""

    data: Any = None
    unknown: str | None = None


@dataclass
class EnvStatus:
    """`billingops status`: every section, each with its data or why it is unknown."""

    env: str
    cloud: str
    checked_at: str
    service: Section = field(default_factory=Section)
    database: Section = field(default_factory=Section)
    cache: Section = field(default_factory=Section)
    state_lock: Section = field(default_factory=Section)
    last_deploy: Section = field(default_factory=Section)

    @property
    def nothing_read(self) -> bool:
        """Service, database and cache all unknown: nothing could be read from the cloud."""
        return all(sec.unknown for sec in (self.service, self.database, self.cache))


def probe(session: Session, ids: Identifiers) -> Callable[[], EnvStatus]:
    """Resolve what to look at once (flags first, terraform outputs for the rest); each call is a snapshot."""
    from billingops.clouds import service_in_cluster

    env = session.env()
    problem = None
    if not (ids.service and ids.db_instance and ids.cache_id and (ids.cluster or not service_in_cluster(env))):
        outputs, problem = load_outputs(env)
        ids.fill_from(outputs, env)
    else:
        ids.fill_from({}, env)

    def snapshot() -> EnvStatus:
        return collect(env, ids, audit_records=list(session.audit().records()), outputs_problem=problem)

    return snapshot


def load_outputs(env: EnvConfig) -> tuple[dict[str, Any], str | None]:
    """terraform outputs for `env`, or ({}, why not): flags can still stand in for them."""
    try:
        from billingops.terraform.runner import Terraform

        return Terraform.for_env(env).outputs(), None
    except BillingOpsError as exc:
        # terraform's own text runs to paragraphs; the first sentence is enough beside "pass --flag"
        text = " ".join(exc.message.split())
        return {}, text if len(text) <= 200 else text[:197] + "..."
    except ImportError as exc:
        return {}, f"the terraform runner is unavailable ({exc})"


def section(what: str, func: Callable[..., Any], *args: Any) -> Section:
    try:
        return Section(data=func(*args))
    except BillingOpsError as exc:
        return Section(unknown=exc.message)
    except Exception as exc:  # noqa: BLE001  # one broken section must not hide the others; the reason is shown
        log.debug("%s failed", what, exc_info=True)
        return Section(unknown=f"{type(exc).__name__}: {exc}")


def state_lock(env: EnvConfig) -> dict[str, Any]:
    try:
        from billingops.locks.finder import find_locks
    except ImportError as exc:
        raise _Unknown(f"the lock finder is not available ({exc})") from None
    locks = find_locks(env)
    if not locks:
        return {"held": False}
    first = locks[0].to_dict()
    return {
        "held": True,
        "lock_id": first.get("lock_id"),
        "who": first.get("who"),
        "operation": first.get("operation"),
        "created": first.get("created"),
        "age_seconds": first.get("age_seconds"),
        "count": len(locks),
    }


def last_deploy(records: Iterable[Mapping[str, Any]], env: str, cloud: str) -> dict[str, Any] | None:
    """The latest deploy.start of `env` in the audit records, with its deploy.end outcome if any."""
    starts: dict[str, Mapping[str, Any]] = {}
    ends: dict[str, Mapping[str, Any]] = {}
    order: list[str] = []
    for record in records:
        if record.get("env") != env or record.get("cloud", cloud) != cloud:
            continue
        run_id = record.get("run_id")
        if record.get("event") == "deploy.start" and run_id:
            starts[run_id] = record
            order.append(run_id)
        elif record.get("event") == "deploy.end" and run_id:
            ends[run_id] = record
    if not order:
        return None
    run_id = order[-1]
    start, end = starts[run_id], ends.get(run_id, {})
    return {
        "run_id": run_id,
        "started": start.get("ts"),
        "who": start.get("who"),
        "image": start.get("image"),
        "ended": end.get("ts"),
        "outcome": end.get("outcome") or "running or interrupted",
    }


class _Unknown(BillingOpsError):
    """A section that cannot be read for a reason that is not an error of the environment."""


def collect(
    env: EnvConfig,
    ids: Identifiers,
    *,
    audit_records: Iterable[Mapping[str, Any]],
    adapters: dict[str, Any] | None = None,
    outputs_problem: str | None = None,
) -> EnvStatus:
    """Gather every section; `adapters` (service, database, cache) are injectable."""
    from billingops.clouds import service_in_cluster

    adapters = adapters or _adapters(env, ids)
    status = EnvStatus(
        env=env.name, cloud=env.cloud, checked_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    why = f" ({outputs_problem})" if outputs_problem else ""

    def need(value: str | None, flag: str) -> str:
        if not value:
            raise _Unknown(f"no {flag.lstrip('-').replace('-', ' ')} known: pass {flag}{why}")
        return value

    # Names first, adapters second: a missing name is the more useful thing to say.
    if service_in_cluster(env):
        status.service = section(
            "service",
            lambda: _call(
                adapters["service"],
                "service",
                need(ids.cluster, "--cluster"),
                need(ids.service, "--service"),
                ids.container,
                *([ids.task_definition] if ids.task_definition else []),
            ),
        )
    else:
        status.service = section(
            "service", lambda: _call(adapters["service"], "service", need(ids.service, "--service"))
        )
    status.database = section(
        "database", lambda: _call(adapters["database"], "describe", need(ids.db_instance, "--db-instance"))
    )
    status.cache = section(
        "cache", lambda: _call(adapters["cache"], "cache", need(ids.cache_id, "--cache-id"))
    )
    status.state_lock = section("state lock", state_lock, env)
    status.last_deploy = section("last deploy", last_deploy, audit_records, env.name, env.cloud)
    return status


def _call(adapter: Any, method: str, *args: Any) -> Any:
    return getattr(adapter, method)(*args)


def _adapters(env: EnvConfig, ids: Identifiers) -> dict[str, Any]:
    """Real adapters; each one's construction error becomes that section's `unknown`."""
    from billingops.clouds import database_adapter, status_adapter

    service = cache = _Lazy(lambda: status_adapter(env, ids.project))
    database = _Lazy(lambda: database_adapter(env, {"project_id": ids.project}))
    return {"service": service, "cache": cache, "database": database}


class _Lazy:
    """Build the adapter on first use, inside the section that uses it."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._value: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._value is None:
            self._value = self._factory()
        return getattr(self._value, name)
