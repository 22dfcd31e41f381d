"""`billingops dr drill`: restore the latest restorable time into a scratch instance, check it, time it.

Options and rendering; the drill itself (restore, check, RTO, clean-up, audit) is services/dr.py.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from billingops.commands.common import Session, duration_option, with_session
from billingops.services import dr as use_case

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Disaster-recovery drills.", no_args_is_help=True)
    group.command("drill")(drill_cmd)
    app.add_typer(group, name="dr")


@with_session()
def drill_cmd(
    session: Session,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the scratch instance for inspection.")] = False,
    allow_prod: Annotated[
        bool, typer.Option("--allow-prod", help="Allow a drill against prod's database.")
    ] = False,
    db_instance: Annotated[
        str | None,
        typer.Option(
            "--db-instance", help="Instance to drill (default: terraform output database_instance)."
        ),
    ] = None,
    scratch_name: Annotated[
        str | None, typer.Option("--as", help="Scratch instance name (default: <instance>-drill-<time>).")
    ] = None,
    check_database_url: Annotated[
        str | None,
        typer.Option(
            "--check-database-url",
            envvar="BILLINGOPS_DRILL_DATABASE_URL",
            help="PostgreSQL URL reaching the restored copy (a tunnel or proxy); default: its endpoint.",
        ),
    ] = None,
    timeout: Annotated[
        float, duration_option("--timeout", minimum=1, help="How long to wait for the restore.")
    ] = 7200.0,
    poll: Annotated[
        float, duration_option("--poll-interval", minimum=0.01, help="Time between progress checks.")
    ] = 15.0,
) -> int | None:
    """Restore the latest backup into a scratch instance, count the core tables, time it against the RTO."""
    result = use_case.drill(session, keep=keep, allow_prod=allow_prod, db_instance=db_instance,
                            scratch_name=scratch_name, check_database_url=check_database_url, timeout=timeout,
                            poll=poll)
    _render(session, result)
    return None if result.outcome == "passed" else 1


def _render(session: Session, result: use_case.DrillResult) -> None:
    def render(console) -> None:
        minutes = f"{result.restore_seconds / 60:.1f} min" if result.restore_seconds is not None else "?"
        rows = [
            (
                "restore time",
                f"{minutes} (RTO {result.rto_seconds // 60} min): "
                f"{'within' if result.within_rto else 'OVER'} RTO",
            ),
            ("check", result.check),
            *[(f"rows in {t}", "missing" if n is None else str(n)) for t, n in result.row_counts.items()],
            ("scratch instance", f"{result.scratch} {'deleted' if result.scratch_deleted else 'kept'}"),
            ("outcome", result.outcome.upper()),
        ]
        console.print(
            session.output.table(
                f"DR drill of {result.source} ({result.env}, {result.cloud})", ["", ""], rows
            )
        )

    session.output.result(result, render)
