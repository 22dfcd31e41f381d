"""`billingops db backups` and `billingops db restore`: the PITR window, and restore into a NEW instance."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from billingops.errors import ConfigError, Refused

if TYPE_CHECKING:
    from billingops.clouds.database import BackupsView, RestoreResult
    from billingops.session import Session

log = logging.getLogger(__name__)


def database_instance(session: Session, explicit: str | None) -> tuple[str, dict[str, Any]]:
    """The live instance (the flag, else terraform's `database_instance` output) and the outputs read."""
    if explicit:
        return explicit, {}
    from billingops.services.status import load_outputs

    env = session.env()
    outputs, problem = load_outputs(env)
    name = outputs.get("database_instance")
    if not name:
        raise ConfigError(
            f"Could not find the database instance of {env.name} ({env.cloud}): "
            f"{problem or 'terraform has no database_instance output'}.",
            hint="Pass --db-instance NAME, or run from the project root with terraform initialised.",
        )
    return name, outputs


def backups(session: Session, db_instance: str | None = None) -> tuple[str, BackupsView]:
    """The instance looked at, and its automated backups, snapshots and point-in-time restore window."""
    from billingops.clouds import database_adapter

    env = session.env()
    instance, outputs = database_instance(session, db_instance)
    with session.ui.status(f"Reading backups of {instance}"):
        view = database_adapter(env, outputs).backups(instance)
    return instance, view


def restore(session: Session, *, to: str, as_: str, db_instance: str | None = None, timeout: float = 3600.0,
            poll: float = 15.0) -> RestoreResult:
    """Restore the database as of `to` (ISO 8601 UTC or 'latest') into a new instance `as_`; audited."""
    from billingops.clouds import database_adapter
    from billingops.clouds.database import check_restore_request, parse_time

    env = session.env()
    source, outputs = database_instance(session, db_instance)
    when = None if to.strip().lower() == "latest" else parse_time(to)
    adapter = database_adapter(env, outputs)
    view = adapter.backups(source)
    check_restore_request(view, source, as_, when, adapter.exists(as_))
    question = (
        f"Restore {source} ({env.name}, {env.cloud}) as of {to} into a new instance {as_}? "
        "This creates billable resources"
    )
    if env.is_prod and not session.ui.confirm(question, flag="--yes"):
        raise Refused("Restore not confirmed.", hint="Run it again and answer y, or pass --yes.")
    audit = session.audit()
    audit.record("db.restore.start", env=env.name, cloud=env.cloud, source=source, target=as_, to=to)
    try:
        result = adapter.restore(source, as_, when, progress=session.ui.say, timeout=timeout, poll=poll)
    except Exception as exc:
        audit.record(
            "db.restore.end",
            env=env.name,
            cloud=env.cloud,
            source=source,
            target=as_,
            outcome="failed",
            error=str(exc),
        )
        raise
    audit.record(
        "db.restore.end",
        env=env.name,
        cloud=env.cloud,
        source=source,
        target=as_,
        outcome="ok",
        seconds=result.seconds,
    )
    return result
