"""`billingops db backups` and `billingops db restore`: the PITR window, and restore into a NEW instance."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from billingops.commands.common import Session, duration_option, with_session
from billingops.services import database as use_case

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


@with_session()
def backups_cmd(session: Session, db_instance: DbInstanceOpt = None) -> None:
    """List automated backups and snapshots, and the point-in-time restore window."""
    instance, view = use_case.backups(session, db_instance)
    env = session.env()

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
        float, duration_option("--timeout", minimum=1, help="How long to wait for the restore.")
    ] = 3600.0,
    poll: Annotated[
        float, duration_option("--poll-interval", minimum=0.01, help="Time between progress checks.")
    ] = 15.0,
) -> None:
    """Restore the database to a point in time into a new instance, with progress."""
    result = use_case.restore(session, to=to, as_=as_, db_instance=db_instance, timeout=timeout, poll=poll)

    def render(console) -> None:
        console.print(
            f"Restored {result.source} (as of {result.restore_time}) into {as_}: {result.status}, endpoint "
            f"{result.endpoint or '?'}:{result.port or '?'}, in {result.seconds:.0f}s. The live instance "
            "was not touched.",
            markup=False,
        )

    session.output.result(result, render)
