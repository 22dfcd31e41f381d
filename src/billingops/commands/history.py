"""`billingops history`: past runs from the audit log and journals, and `--verify` of the audit chain."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from billingops.commands.common import Session, with_session


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
    from billingops.config import ENVIRONMENTS
    from billingops.errors import ConfigError, StepFailed
    from billingops.runs.audit import AuditLog

    if session.env_name is not None and session.env_name not in ENVIRONMENTS:
        raise ConfigError(f"Unknown environment {session.env_name!r}: accepted values are "
                          f"{', '.join(ENVIRONMENTS)}.", hint="Pass --env with one of them, or leave it out.")
    audit = AuditLog(session.settings.audit_log)
    if verify:
        problems = audit.verify()
        count = sum(1 for _ in audit.records())
        data = {"audit_log": str(audit.path), "records": count, "ok": not problems,
                "problems": [{"line": p.line, "problem": p.problem} for p in problems]}
        session.output.result(data, lambda console: console.print(
            f"audit log {audit.path}: {count} records, chain intact" if not problems else
            "\n".join([f"audit log {audit.path}: chain BROKEN"] +
                      [f"  line {p.line}: {p.problem}" for p in problems])))
        if problems:
            raise StepFailed(f"The audit log's hash chain is broken at line {problems[0].line}: "
                             f"{problems[0].problem}.",
                             hint="Treat the log as tampered with: keep a copy and tell security.")
        return
    runs = collect_runs(audit.records(), session.env_name)[:limit]
    data = {"audit_log": str(audit.path), "runs": runs}

    def render(console: Any) -> None:
        if not runs:
            console.print(f"no runs on record in {audit.path}")
            return
        rows = [(r["started"], r["who"], r["command"], r.get("env") or "-", r.get("cloud") or "-", r["outcome"],
                 " ".join(f"{s['name']}:{s['outcome']}" for s in r["steps"]), r["run_id"]) for r in runs]
        console.print(session.output.table(f"history ({len(runs)} runs)",
                                           ["started", "who", "command", "env", "cloud", "outcome", "steps",
                                            "run id"], rows))

    session.output.result(data, render)


def collect_runs(records: Any, env: str | None) -> list[dict[str, Any]]:
    """Group audit records by run id; records without one (unlock, rollout ...) are runs of their own."""
    runs: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for index, record in enumerate(records):
        if env and record.get("env") not in (env, None):
            continue
        event = str(record.get("event", ""))
        run_id = record.get("run_id") or f"{event}@{record.get('ts')}#{index}"
        if run_id not in runs:
            command = event.split(".")[0] if "." in event else event
            runs[run_id] = {"run_id": run_id, "command": command, "env": record.get("env"),
                            "cloud": record.get("cloud"), "who": record.get("who", "?"),
                            "started": record.get("ts", "?"), "outcome": record.get("outcome", "running?"),
                            "steps": []}
            order.append(run_id)
        run = runs[run_id]
        if event == "step.end":
            run["steps"].append({"name": record.get("step"), "outcome": record.get("outcome")})
        elif event.endswith(".end") or "outcome" in record:
            run["outcome"] = record.get("outcome", run["outcome"])
        run["env"] = run["env"] or record.get("env")
        run["cloud"] = run["cloud"] or record.get("cloud")
    return [runs[r] for r in reversed(order)]
