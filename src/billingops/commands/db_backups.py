"""`billingops db backups` and `billingops db restore`: the PITR window, and restore into a NEW instance."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from billingops.commands.common import Session, with_session

log = logging.getLogger(__name__)

DbInstanceOpt = Annotated[
    str | None,
    typer.Option(
        "--db-instance", help="Database instance name (default: terraform output database_instance)."
    ),
]


def register(db_app: typer.Typer) -> None:
    db_app.command("backups")(backups_cmd)
    db_app.command("restore")(restore_cmd)


def database_instance(session: Session, explicit: str | None) -> tuple[str, dict]:
    """The live instance (the flag, else terraform's `database_instance` output) and the outputs read."""
    if explicit:
        return explicit, {}
    from billingops.errors import ConfigError
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


@with_session()
def backups_cmd(session: Session, db_instance: DbInstanceOpt = None) -> None:
    """List automated backups and snapshots, and the point-in-time restore window."""
    from billingops.clouds import database_adapter

    env = session.env()
    instance, outputs = database_instance(session, db_instance)
    with session.output.status(f"Reading backups of {instance}"):
        view = database_adapter(env, outputs).backups(instance)

    def render(console) -> None:
        pitr = (
            f"{view.earliest_restorable_time or '?'} → {view.latest_restorable_time or '?'}"
            if view.pitr_enabled
            else "not enabled"
        )
        console.print(
            f"{instance} ({env.cloud}, {env.name}): point-in-time restore window {pitr}; "
            f"retention {view.retention_days or '?'} day(s)",
            markup=False,
        )
        console.print(
            session.output.table(
                f"Backups ({len(view.backups)})",
                ["id", "kind", "status", "created", "size GB"],
                [(b.id, b.kind, b.status, b.created, b.size_gb) for b in view.backups],
            )
        )
        if not view.backups:
            console.print(
                "No backups listed: check the backup configuration (see runbook backup-failures).",
                markup=False,
            )

    session.output.result(view, render)


@with_session()
def restore_cmd(
    session: Session,
    to: Annotated[
        str,
        typer.Option(
            "--to", help="UTC time to restore to (ISO 8601, e.g. 2026-11-25T09:55:00Z), or 'latest'."
        ),
    ],
    as_: Annotated[
        str, typer.Option("--as", help="Name of the NEW instance to create (never the live one).")
    ],
    db_instance: DbInstanceOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for the restore.")
    ] = 3600.0,
    poll: Annotated[
        float, typer.Option("--poll-interval", min=0.01, help="Seconds between progress checks.")
    ] = 15.0,
) -> None:
    """Restore the database to a point in time into a new instance, with progress."""
    from billingops.clouds import database_adapter
    from billingops.clouds.database import check_restore_request, parse_time

    env = session.env()
    source, outputs = database_instance(session, db_instance)
    when = None if to.strip().lower() == "latest" else parse_time(to)
    adapter = database_adapter(env, outputs)
    view = adapter.backups(source)
    check_restore_request(view, source, as_, when, adapter.exists(as_))
    output = session.output
    question = (
        f"Restore {source} ({env.name}, {env.cloud}) as of {to} into a new instance {as_}? "
        "This creates billable resources"
    )
    if env.is_prod and not output.confirm(question, flag="--yes"):
        from billingops.errors import Refused

        raise Refused("Restore not confirmed.", hint="Run it again and answer y, or pass --yes.")
    audit = session.audit()
    audit.record("db.restore.start", env=env.name, cloud=env.cloud, source=source, target=as_, to=to)
    try:
        result = adapter.restore(source, as_, when, progress=output.say, timeout=timeout, poll=poll)
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

    def render(console) -> None:
        console.print(
            f"Restored {source} (as of {result.restore_time}) into {as_}: {result.status}, endpoint "
            f"{result.endpoint or '?'}:{result.port or '?'}, in {result.seconds:.0f}s. The live instance "
            "was not touched.",
            markup=False,
        )

    output.result(result, render)
