"""The migrate-cloud dry run: sizes, checks and the plan; changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billingops.services.migrate_cloud.run import COMMAND

if TYPE_CHECKING:
    from billingops.session import Session


def dry_run(session: Session, base: dict[str, Any], found: Any, jobs: int, replace: bool) -> dict[str, Any]:
    from billingops.transfer import plan
    from billingops.transfer.postgres import estimate as postgres_estimate
    from billingops.transfer.postgres import preflight as postgres_preflight
    from billingops.transfer.postgres import watchdog as postgres_watchdog
    doc: dict[str, Any] = {**base, "dry_run": True}
    if found.source_pg:
        with session.ui.status("reading both PostgreSQL databases"):
            checked = postgres_preflight.preflight(found.source_pg, found.target_pg)  # under its own watchdog
            with postgres_watchdog.watching([found.source_pg]):
                estimate = postgres_estimate.estimate(found.source_pg, checked.source, jobs)
        doc["postgres"] = {"preflight": checked.to_dict(), "estimate": estimate}
    if found.source_redis:
        from billingops.transfer.redis import copy as redis_copy
        from billingops.transfer.redis import estimate as redis_estimate
        src, dst = redis_copy.inspect(found.source_redis), redis_copy.inspect(found.target_redis)
        doc["redis"] = {
            "source": src.to_dict(),
            "target": dst.to_dict(),
            "target_keys": dst.total_keys,
            "estimate": redis_estimate.estimate(found.source_redis, src, verify=base["verify"]),
        }
    doc["would_do"] = plan.what_would_be_done(doc.get("postgres"), doc.get("redis"), replace)
    audited = ("source", "target", "env", "tls", "insecure_redis_tls")
    session.audit().record(COMMAND, phase="dry-run", **{k: base[k] for k in audited if k in base})
    return doc
