"""`billingops status`: service, database, cache, state lock and last deploy on one screen."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import typer

from billingops.commands.common import Session, duration_option, with_session
from billingops.errors import EXIT_EXTERNAL
from billingops.services.status import Identifiers, probe

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("status")(status_cmd)


@with_session()
def status_cmd(
    session: Session,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="ECS cluster (AWS; default: terraform output).")
    ] = None,
    service: Annotated[str | None, typer.Option("--service", help="ECS or Cloud Run service name.")] = None,
    db_instance: Annotated[
        str | None, typer.Option("--db-instance", help="RDS / Cloud SQL instance name.")
    ] = None,
    cache_id: Annotated[str | None, typer.Option("--cache-id", help="ElastiCache / Memorystore id.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until Ctrl-C.")] = False,
    interval: Annotated[
        float, duration_option("--interval", minimum=1, help="Time between refreshes with --watch.")
    ] = 10.0,
) -> int | None:
    """Show the environment's service, database, cache, state lock and last deploy."""
    ids = Identifiers(cluster=cluster, service=service, db_instance=db_instance, cache_id=cache_id)
    snapshot = probe(session, ids)
    if not watch:
        current = snapshot()
        session.output.result(current, lambda console: console.print(render(session, current)))
        if current.nothing_read:
            session.output.warn("Nothing could be read from the cloud (see the reasons above); exit code 3.")
            return EXIT_EXTERNAL
        return None
    _watch(session, snapshot, interval)
    return None


def _watch(session: Session, snapshot, interval: float) -> None:
    output = session.output
    try:
        if output.rich and not session.json:
            from rich.live import Live

            with Live(render(session, snapshot()), console=output.out, refresh_per_second=1) as live:
                while True:
                    time.sleep(interval)
                    live.update(render(session, snapshot()))
        while True:  # JSON or plain: one document / screen per refresh, for a log or a pipe
            current = snapshot()
            output.result(current, lambda console, shown=current: console.print(render(session, shown)))
            time.sleep(interval)
    except KeyboardInterrupt:
        output.say("stopped watching")


def render(session: Session, status) -> Any:
    from rich.console import Group
    from rich.text import Text

    out = session.output
    rows: list[tuple[str, str, str]] = []

    def add(name: str, sec, describe) -> None:
        if sec.unknown:
            rows.append((name, "unknown", sec.unknown))
        elif sec.data is None:
            rows.append((name, "-", "none recorded"))
        else:
            rows.append((name, *describe(sec.data)))

    add("service", status.service, _service)
    add("database", status.database, _database)
    add("cache", status.cache, _cache)
    add("state lock", status.state_lock, _lock)
    add("last deploy", status.last_deploy, _deploy)
    styles = [
        "red" if r[1] in ("DOWN", "held", "failed") else ("yellow" if r[1] == "unknown" else None)
        for r in rows
    ]
    table = out.table(
        f"{status.env} on {status.cloud} at {status.checked_at}", ["", "state", "detail"], rows, styles=styles
    )
    return Group(table, Text(""))


def _service(svc) -> tuple[str, str]:
    state = "ok" if svc.healthy else ("DOWN" if svc.healthy is False else "?")
    pending = f", {svc.pending} pending" if svc.pending is not None else ""
    return state, (
        f"{svc.name}: desired {svc.desired}, running {svc.running}{pending}; serving {svc.serving or '?'}; "
        f"last deployment {svc.deployment or '?'}"
    )


def _database(db) -> tuple[str, str]:
    storage = f"{db.allocated_gb:.0f} GB allocated" if db.allocated_gb else "storage ?"
    if db.used_percent is not None:
        storage = f"{db.used_gb:.1f}/{db.allocated_gb:.0f} GB used ({db.used_percent:.0f}%)"
    return (
        "ok" if db.available else "DOWN",
        f"{db.name}: {db.status}, {db.engine_version}, "
        f"{'Multi-AZ/HA' if db.high_availability else 'single zone'}, "
        f"{storage}, latest restorable {db.latest_restorable_time or '?'}",
    )


def _cache(cache) -> tuple[str, str]:
    return (
        "ok" if cache.available else "DOWN",
        f"{cache.id}: {cache.status}, {cache.engine or ''} {cache.node_type or ''}; "
        f"failover: {cache.failover}",
    )


def _lock(lock: dict) -> tuple[str, str]:
    if not lock.get("held"):
        return "free", "no terraform state lock held"
    return "held", (
        f"lock {lock.get('lock_id')} by {lock.get('who')} ({lock.get('operation')}) since "
        f"{lock.get('created')}; see `billingops locks --env ENV`"
    )


def _deploy(deploy: dict) -> tuple[str, str]:
    return (
        deploy.get("outcome") or "?",
        f"run {deploy.get('run_id')} by {deploy.get('who')} started {deploy.get('started')}"
        + (f", ended {deploy['ended']}" if deploy.get("ended") else ""),
    )
