"""`billingops dr drill`: restore the latest restorable time into a scratch instance, check it, time it.

The seed's monthly "test backup restoration" and quarterly DR drill as one use case: the measured restore
time is compared with the seed's RTO (AWS 1 h, GCP 30 min), the core tables are counted on the restored
copy, the scratch instance is deleted (unless keep), and the result goes to the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from billingops.errors import BillingOpsError, Refused

if TYPE_CHECKING:
    from billingops.clouds.database import DatabaseAdapter, RestoreResult
    from billingops.runs.audit import AuditLog
    from billingops.session import Session

log = logging.getLogger(__name__)

RTO_SECONDS = {"aws": 3600, "gcp": 1800}  # the seed's Disaster Recovery section
CORE_TABLES = ("customers", "plans", "subscriptions", "invoices", "invoice_lines", "payments")
CHECK_CONNECT_TIMEOUT = 10


@dataclass
class DrillResult:
    env: str
    cloud: str
    source: str
    scratch: str
    restore_seconds: float | None = None
    rto_seconds: int = 0
    within_rto: bool | None = None
    check: str = "not run"  # passed | failed: ... | not run: ...
    row_counts: dict[str, int | None] = field(default_factory=dict)
    scratch_deleted: bool = False
    outcome: str = "failed"


def drill(session: Session, *, keep: bool = False, allow_prod: bool = False, db_instance: str | None = None,
          scratch_name: str | None = None, check_database_url: str | None = None, timeout: float = 7200.0,
          poll: float = 15.0) -> DrillResult:
    """Restore the latest backup into a scratch instance, count the core tables, time it against the RTO."""
    from billingops.clouds import database_adapter
    from billingops.services.database import database_instance

    env = session.env()
    if env.is_prod and not allow_prod:
        raise Refused(
            "A DR drill against prod is refused by default: it creates a full-size copy of the "
            "production database.",
            hint="Drill staging (the seed's practice), or pass --allow-prod.",
        )
    source, outputs = database_instance(session, db_instance)
    scratch = scratch_name or f"{source}-drill-{datetime.now(UTC):%Y%m%d%H%M}"
    ui = session.ui
    adapter = database_adapter(env, outputs)
    result = DrillResult(
        env=env.name, cloud=env.cloud, source=source, scratch=scratch, rto_seconds=RTO_SECONDS[env.cloud]
    )
    audit = session.audit()
    audit.record("dr.drill.start", env=env.name, cloud=env.cloud, source=source, scratch=scratch)
    try:
        if source.lower() == scratch.lower() or adapter.exists(scratch):
            raise Refused(
                f"The scratch instance name {scratch} is taken (or is the live instance).",
                hint="Pass another --as name.",
            )
        ui.say(
            f"Restoring the latest restorable time of {source} into {scratch} (RTO "
            f"{result.rto_seconds // 60} min)"
        )
        restored = adapter.restore(source, scratch, None, progress=ui.say, timeout=timeout, poll=poll)
        result.restore_seconds = restored.seconds
        result.within_rto = restored.seconds <= result.rto_seconds
        url = check_database_url or _endpoint_url(session, restored)
        result.check, result.row_counts = _check(url)
    except BillingOpsError as exc:
        result.check = result.check if result.restore_seconds is not None else f"not run: {exc.message}"
        _finish(session, adapter, result, keep, audit)
        raise
    _finish(session, adapter, result, keep, audit)
    return result


def _finish(session: Session, adapter: DatabaseAdapter, result: DrillResult, keep: bool, audit: AuditLog) -> None:
    if result.restore_seconds is not None:
        if keep:
            session.ui.say(f"kept {result.scratch} (--keep): delete it when you are done")
        else:
            try:
                adapter.delete(result.scratch)
                result.scratch_deleted = True
                session.ui.say(f"deleting scratch instance {result.scratch}")
            except Exception as exc:  # noqa: BLE001  # the drill's result still counts; the leftover is reported
                session.ui.warn(
                    f"Could not delete scratch instance {result.scratch}: {exc}. Delete it by hand."
                )
    passed = result.within_rto is True and result.check == "passed"
    result.outcome = "passed" if passed else "failed"
    audit.record(
        "dr.drill.end",
        env=result.env,
        cloud=result.cloud,
        source=result.source,
        scratch=result.scratch,
        outcome=result.outcome,
        restore_seconds=result.restore_seconds,
        rto_seconds=result.rto_seconds,
        within_rto=result.within_rto,
        check=result.check,
        row_counts=result.row_counts,
        scratch_deleted=result.scratch_deleted,
    )


def _endpoint_url(session: Session, restored: RestoreResult) -> str | None:
    """host/port of the restored copy with terraform's database name and user; libpq finds the password
    (PGPASSWORD or ~/.pgpass), which billingops never takes on the command line."""
    if not restored.endpoint:
        return None
    from billingops.services.status import load_outputs

    outputs, _ = load_outputs(session.env())
    user = outputs.get("database_username") or "billing_admin"
    name = outputs.get("database_name") or "billing"
    return f"postgresql://{user}@{restored.endpoint}:{restored.port or 5432}/{name}"


def _check(url: str | None) -> tuple[str, dict[str, int | None]]:
    """Count the core tables' rows on the restored copy."""
    if not url:
        return "not run: the restored instance has no endpoint to connect to", {}
    import psycopg
    from psycopg import sql

    from billingops import redact

    redact.register_url(url)
    try:
        conn = psycopg.connect(url, connect_timeout=CHECK_CONNECT_TIMEOUT, autocommit=True)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"not run: cannot connect to the restored copy at {redact.redact_url(url)} ({first}); "
            "from outside "
            "its network (or against an emulator) pass --check-database-url through a tunnel or proxy"
        ), {}
    counts: dict[str, int | None] = {}
    with conn:
        for table in CORE_TABLES:
            try:
                row = conn.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                ).fetchone()
                counts[table] = int(row[0]) if row else None
            except psycopg.errors.UndefinedTable:
                counts[table] = None
    missing = [t for t, n in counts.items() if n is None]
    if missing:
        return f"failed: missing tables {', '.join(missing)}", counts
    return "passed", counts
