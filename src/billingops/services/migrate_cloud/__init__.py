"""The migrate-cloud use case: move PostgreSQL and Redis data between AWS and GCP, verified.

The heavy lifting lives in billingops.transfer. `run(session, request)` checks the request and runs the dry
run (here) or the real run (run.py: deploy lock, journal, Ctrl-C, verification); target.py holds the consent to
overwrite a non-empty target. A real run whose verification fails raises RunFailed carrying the result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.errors import UsageError
from billingops.runs.lifecycle import RunFailed
from billingops.services.migrate_cloud.run import COMMAND

if TYPE_CHECKING:
    from billingops.session import Session
    from billingops.transfer.progress import Bars

log = logging.getLogger(__name__)

__all__ = ["COMMAND", "MigrateRequest", "MigrateResult", "RunFailed", "run"]


@dataclass(frozen=True)
class MigrateRequest:
    source: str
    target: str
    only: str | None = None
    source_postgres: str | None = None
    target_postgres: str | None = None
    source_redis: str | None = None
    target_redis: str | None = None
    source_redis_ca: Path | None = None
    target_redis_ca: Path | None = None
    jobs: int = 2
    verify: str = "full"
    dry_run: bool = False
    resume: bool = False
    replace_target: bool = False
    split_larger_than: float | None = None
    lock_wait: str | None = None  # a duration (--lock-wait); none: a held lock is refused at once
    no_lock: bool = False


@dataclass
class MigrateResult:
    """`document` is the --json document (a dry run's plan, or a run's copy and verification results)."""

    dry_run: bool
    document: dict[str, Any]


def check(request: MigrateRequest) -> None:
    """The request's values, checked before anything is read or written."""
    from billingops.transfer import endpoints, tunables

    endpoints.check_clouds(request.source, request.target)
    tunables.check()
    if request.only not in (None, "postgres", "redis"):
        raise UsageError(f"--only must be postgres or redis, not {request.only!r}.",
                         hint="Or leave it out to move both.")
    if request.verify not in ("counts", "full"):
        raise UsageError(f"--verify must be counts or full, not {request.verify!r}.", hint="full is the default.")
    if not 1 <= request.jobs <= 64:
        raise UsageError(f"--jobs must be between 1 and 64, not {request.jobs}.",
                         hint="Use about the number of cores.")
    if request.dry_run and request.resume:
        raise UsageError("--dry-run and --resume do not go together.", hint="Drop one of them.")


def run(session: Session, request: MigrateRequest, *, bars: Bars | None = None) -> MigrateResult:
    """The dry run or the real run; `bars` shows live progress on a terminal (default: lines on session.ui)."""
    from billingops.config import parse_duration
    from billingops.transfer import endpoints

    check(request)
    wait = parse_duration(request.lock_wait, "--lock-wait") if request.lock_wait else 0.0
    settings = session.settings
    env_name = _env_name(session)
    want_pg, want_redis = request.only in (None, "postgres"), request.only in (None, "redis")
    flags = {
        "source_postgres": request.source_postgres,
        "target_postgres": request.target_postgres,
        "source_redis": request.source_redis,
        "target_redis": request.target_redis,
        "source_redis_ca": request.source_redis_ca,
        "target_redis_ca": request.target_redis_ca,
    }
    found = endpoints.resolve(
        source_env=settings.env(env_name, request.source),
        target_env=settings.env(env_name, request.target),
        want_pg=want_pg,
        want_redis=want_redis,
        flags=flags,
    )
    base = {"source": request.source, "target": request.target, "env": env_name, "endpoints": found.shown(),
            "verify": request.verify}
    if request.dry_run:
        from billingops.services.migrate_cloud.dry_run import dry_run

        return MigrateResult(True, dry_run(session, base, found, request.jobs, request.replace_target))
    from billingops.services.migrate_cloud.run import locked_run

    doc = locked_run(
        session,
        base,
        found,
        lock_env=None if request.no_lock else settings.env(env_name, request.target),
        lock_wait=wait,
        jobs=request.jobs,
        verify=request.verify,
        resume=request.resume,
        replace=request.replace_target,
        split_mb=request.split_larger_than,
        bars=bars,
    )
    return MigrateResult(False, doc)


def _env_name(session: Session) -> str:
    name = session.env_name or session.settings.default_env
    session.settings.env(name, "aws")  # validates the name (ConfigError naming --env)
    return str(name)
