"""`billingops migrate-cloud SOURCE TARGET --env ENV`: move PostgreSQL and Redis data between AWS and GCP,
verified.

The heavy lifting lives in billingops.transfer. This module parses and checks the options and runs the dry run;
run.py holds the real run (deploy lock, journal, Ctrl-C, verification result) and target.py the consent to
overwrite a non-empty target.
"""

# No `from __future__ import annotations`: with_session rebuilds the signature and Typer must see the real
# Annotated objects, not strings it cannot resolve in another module.

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from billingops.commands.common import LockWaitOpt, NoLockOpt, Session, lock_wait_seconds, with_session
from billingops.errors import UsageError

log = logging.getLogger(__name__)
COMMAND = "migrate-cloud"

Only = Annotated[str | None, typer.Option("--only", help="Move only one store: postgres or redis.")]


def _url(flag: str, what: str) -> Any:
    return Annotated[
        str | None,
        typer.Option(flag, help=f"{what} URL; overrides terraform outputs and the secret store. Shown redacted."),
    ]


def _ca(flag: str, side: str) -> Any:
    return Annotated[Path | None, typer.Option(flag, help=f"Server CA (PEM) for a rediss:// {side} URL (Memorystore).")]


def register(app: typer.Typer) -> None:
    app.command(
        "migrate-cloud",
        help="Move the billing data (PostgreSQL, Redis) from one cloud to the other, "
        "verified. See runbooks/migrate-cloud.md.",
    )(migrate_cloud)


@with_session(cloud=False)
def migrate_cloud(
    session: Session,
    source: Annotated[str, typer.Argument(help="Cloud to copy from: aws or gcp.")],
    target: Annotated[str, typer.Argument(help="Cloud to copy to: aws or gcp.")],
    only: Only = None,
    source_postgres: _url("--source-postgres", "Source PostgreSQL (postgresql://USER:PW@HOST:PORT/DB)") = None,
    target_postgres: _url("--target-postgres", "Target PostgreSQL") = None,
    source_redis: _url("--source-redis", "Source Redis (redis:// or rediss://)") = None,
    target_redis: _url("--target-redis", "Target Redis") = None,
    source_redis_ca: _ca("--source-redis-ca", "source") = None,
    target_redis_ca: _ca("--target-redis-ca", "target") = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel COPY pipes / Redis workers.")] = 2,
    verify: Annotated[str, typer.Option(help="Verification: counts or full (checksums).")] = "full",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show sizes, checks and the plan; change nothing.")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Finish the last unfinished run.")] = False,
    replace_target: Annotated[
        bool,
        typer.Option(
            "--replace-target",
            help="Overwrite a non-empty target (asks for the environment name; --yes confirms).",
        ),
    ] = False,
    split_larger_than: Annotated[
        float | None,
        typer.Option(help="Split tables larger than this many MB into parallel ranges (default: automatic)."),
    ] = None,
    lock_wait: LockWaitOpt = None,
    no_lock: NoLockOpt = False,
) -> int:
    from billingops.transfer import endpoints, tunables

    endpoints.check_clouds(source, target)
    tunables.check()
    if only not in (None, "postgres", "redis"):
        raise UsageError(f"--only must be postgres or redis, not {only!r}.", hint="Or leave it out to move both.")
    if verify not in ("counts", "full"):
        raise UsageError(f"--verify must be counts or full, not {verify!r}.", hint="full is the default.")
    if not 1 <= jobs <= 64:
        raise UsageError(f"--jobs must be between 1 and 64, not {jobs}.", hint="Use about the number of cores.")
    if dry_run and resume:
        raise UsageError("--dry-run and --resume do not go together.", hint="Drop one of them.")
    wait = lock_wait_seconds(lock_wait)
    settings = session.settings
    env_name = _env_name(session)
    want_pg, want_redis = only in (None, "postgres"), only in (None, "redis")
    flags = {
        "source_postgres": source_postgres,
        "target_postgres": target_postgres,
        "source_redis": source_redis,
        "target_redis": target_redis,
        "source_redis_ca": source_redis_ca,
        "target_redis_ca": target_redis_ca,
    }
    found = endpoints.resolve(
        source_env=settings.env(env_name, source),
        target_env=settings.env(env_name, target),
        want_pg=want_pg,
        want_redis=want_redis,
        flags=flags,
    )
    base = {"source": source, "target": target, "env": env_name, "endpoints": found.shown(), "verify": verify}
    if dry_run:
        return _dry_run(session, base, found, jobs, replace_target)
    from billingops.commands.migrate_cloud.run import locked_run

    return locked_run(
        session,
        base,
        found,
        lock_env=None if no_lock else settings.env(env_name, target),
        lock_wait=wait,
        jobs=jobs,
        verify=verify,
        resume=resume,
        replace=replace_target,
        split_mb=split_larger_than,
    )


def _env_name(session: Session) -> str:
    name = session.env_name or session.settings.default_env
    session.settings.env(name, "aws")  # validates the name (ConfigError naming --env)
    return str(name)


def _dry_run(session: Session, base: dict, found: Any, jobs: int, replace: bool) -> int:
    from billingops.transfer import plan
    from billingops.transfer.postgres import estimate as postgres_estimate
    from billingops.transfer.postgres import migrate as postgres_migrate
    from billingops.transfer.postgres import watchdog as postgres_watchdog
    doc: dict[str, Any] = {**base, "dry_run": True}
    if found.source_pg:
        with session.output.status("reading both PostgreSQL databases"):
            checked = postgres_migrate.preflight(found.source_pg, found.target_pg)  # under its own watchdog
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
    session.audit().record(COMMAND, phase="dry-run", **{k: base[k] for k in ("source", "target", "env")})
    session.output.result(doc, lambda _console: plan.render_dry_run(session.output, doc))
    return 0
