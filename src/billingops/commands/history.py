"""`billingops history`: past runs from the audit log and journals, and `--verify` of the audit chain."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from billingops.commands.common import Session, with_session
from billingops.services import history as use_case


def register(app: typer.Typer) -> None:
    app.command(help="Past runs from the audit log with their step outcomes; --verify checks the hash chain.")(
        history)


@with_session(cloud=False)
def history(
    session: Session,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many runs.")] = 20,
    verify: Annotated[bool, typer.Option("--verify", help="Check the audit log's hash chain and report the "
                                                          "first broken or missing record.")] = False,
) -> None:
    """Show past runs (newest first): when, who, command, env, cloud, outcome and each step's outcome."""
    if verify:
        check = use_case.verify_chain(session)
        session.output.result(check, lambda console: console.print(
            f"audit log {check.audit_log}: {check.records} records, chain intact" if check.ok else
            "\n".join([f"audit log {check.audit_log}: chain BROKEN"] +
                      [f"  line {p['line']}: {p['problem']}" for p in check.problems])))
        if not check.ok:
            raise use_case.broken_chain(check)
        return
    history = use_case.past_runs(session, limit)
    runs = history.runs

    def render(console: Any) -> None:
        if not runs:
            console.print(f"no runs on record in {history.audit_log}")
            return
        rows = [(r["started"], r["who"], r["command"], r.get("env") or "-", r.get("cloud") or "-", r["outcome"],
                 " ".join(f"{s['name']}:{s['outcome']}" for s in r["steps"]), r["run_id"]) for r in runs]
        console.print(session.output.table(f"history ({len(runs)} runs)",
                                           ["started", "who", "command", "env", "cloud", "outcome", "steps",
                                            "run id"], rows))

    session.output.result(history, render)
