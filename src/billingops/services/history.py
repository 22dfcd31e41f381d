"""`billingops history`: past runs from the audit log, and the check of the log's hash chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops.errors import StepFailed, UsageError

if TYPE_CHECKING:
    from billingops.runs.audit import AuditLog
    from billingops.session import Session


@dataclass
class RunHistory:
    audit_log: str
    runs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ChainCheck:
    audit_log: str
    records: int
    ok: bool
    problems: list[dict[str, Any]] = field(default_factory=list)


def past_runs(session: Session, limit: int = 20) -> RunHistory:
    """The newest `limit` runs (of --env when given), each with its steps' outcomes."""
    audit = _audit(session)
    return RunHistory(str(audit.path), collect_runs(audit.records(), session.env_name)[:limit])


def verify_chain(session: Session) -> ChainCheck:
    """Every record's hash link; ChainCheck.problems names the first broken or missing one."""
    audit = _audit(session)
    problems = audit.verify()
    count = sum(1 for _ in audit.records())
    return ChainCheck(str(audit.path), count, not problems,
                      [{"line": p.line, "problem": p.problem} for p in problems])


def broken_chain(check: ChainCheck) -> StepFailed:
    first = check.problems[0]
    return StepFailed(f"The audit log's hash chain is broken at line {first['line']}: {first['problem']}.",
                      hint="Treat the log as tampered with: keep a copy and tell security.")


def _audit(session: Session) -> AuditLog:
    from billingops.config import ENVIRONMENTS
    from billingops.runs.audit import AuditLog

    if session.env_name is not None and session.env_name not in ENVIRONMENTS:
        raise UsageError(f"Unknown environment {session.env_name!r}: accepted values are "
                          f"{', '.join(ENVIRONMENTS)}.", hint="Pass --env with one of them, or leave it out.")
    return AuditLog(session.settings.audit_log)


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
