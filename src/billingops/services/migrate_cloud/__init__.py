"""The migrate-cloud use case: move PostgreSQL and Redis data between AWS and GCP, verified.

The heavy lifting lives in billingops.transfer. `run(session, request)` checks the request and runs the dry
run (here) or the real run (run.py: deploy lock, journal, Ctrl-C, verification); target.py holds the consent to
overwrite a non-empty target. A real run whose verification fails raises RunFailed carrying the result.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
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
    source_sslrootcert: Path | None = None
    target_sslrootcert: Path | None = None
    allow_insecure_redis_tls: bool = False
    jobs: int = 2  # PostgreSQL
    redis_jobs: int = 1  # one worker keeps up with one source server: a second one re-SCANs the keyspace
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
    if not 1 <= request.redis_jobs <= 64:
        raise UsageError(f"--redis-jobs must be between 1 and 64, not {request.redis_jobs}.",
                         hint="1 (the default) keeps up with one source server.")
    if request.dry_run and request.resume:
        raise UsageError("--dry-run and --resume do not go together.", hint="Drop one of them.")


def run(session: Session, request: MigrateRequest, *, bars: Bars | None = None) -> MigrateResult:
    """The dry run or the real run; `bars` shows live progress on a terminal (default: lines on session.ui)."""
    from billingops.config import parse_duration
    from billingops.transfer import endpoints
    from billingops.transfer.postgres import server_ca

    check(request)
    wait = parse_duration(request.lock_wait, "--lock-wait") if request.lock_wait else 0.0
    settings = session.settings
    env_name = _env_name(session)
    want_pg, want_redis = request.only in (None, "postgres"), request.only in (None, "redis")
    urls = connection_urls(request, session.argv, session.ui.warn)
    flags = {
        **urls,
        "source_redis_ca": request.source_redis_ca,
        "target_redis_ca": request.target_redis_ca,
        "source_sslrootcert": request.source_sslrootcert,
        "target_sslrootcert": request.target_sslrootcert,
        "allow_insecure_redis_tls": request.allow_insecure_redis_tls,
    }
    found = endpoints.resolve(
        source_env=settings.env(env_name, request.source),
        target_env=settings.env(env_name, request.target),
        want_pg=want_pg,
        want_redis=want_redis,
        flags=flags,
        server_ca=lambda env, host: server_ca.cloud_sql(env, host, settings.runs_dir / "server-ca"),
    )
    base = {"source": request.source, "target": request.target, "env": env_name, "endpoints": found.shown(),
            "verify": request.verify, **tls_report(found, session.ui.warn)}
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
        redis_jobs=request.redis_jobs,
        verify=request.verify,
        resume=request.resume,
        replace=request.replace_target,
        split_mb=request.split_larger_than,
        bars=bars,
    )
    return MigrateResult(False, doc)


def tls_report(found: Any, warn: Callable[[str], None]) -> dict[str, Any]:
    """The `tls` field of the result and the audit records, with a warning for each connection whose server
    certificate is not checked (require fallback, an insecure Redis URL allowed by the flag)."""
    tls = found.tls()
    for side in found.unverified():
        warn(f"The {side} PostgreSQL connection is encrypted but its server certificate is NOT verified "
             f"({tls[side]}): pass --{side}-sslrootcert FILE (or set rds_ca_bundle for an AWS environment) "
             "for sslmode=verify-full.")
    for side in found.insecure_redis:
        warn(f"The {side} Redis URL turns TLS certificate checks off (ssl_cert_reqs=none), allowed by "
             "--allow-insecure-redis-tls: the server is not authenticated. This run is audited as such.")
    report: dict[str, Any] = {"tls": tls}
    if found.insecure_redis:
        report["insecure_redis_tls"] = list(found.insecure_redis)
    return report


URL_FLAGS = {
    "source_postgres": ("--source-postgres", "BILLINGOPS_SOURCE_POSTGRES_URL"),
    "target_postgres": ("--target-postgres", "BILLINGOPS_TARGET_POSTGRES_URL"),
    "source_redis": ("--source-redis", "BILLINGOPS_SOURCE_REDIS_URL"),
    "target_redis": ("--target-redis", "BILLINGOPS_TARGET_REDIS_URL"),
}


def connection_urls(request: MigrateRequest, argv: list[str], warn: Callable[[str], None]) -> dict[str, str | None]:
    """The four connection URLs: from the flag, its environment variable, or a file (`--source-postgres @PATH`,
    the first line of PATH). A URL with a password typed on the command line is warned about (it shows in
    `ps` and the shell history); the environment variable or a 0600 file keep it out of argv."""
    urls: dict[str, str | None] = {}
    for field_name, (flag, envvar) in URL_FLAGS.items():
        value = getattr(request, field_name)
        on_argv = value is not None and any(a == flag or a.startswith(flag + "=") for a in argv)
        if value is None:
            value = os.environ.get(envvar) or None
        if value is not None and value.startswith("@"):
            value = _url_from_file(flag, Path(value[1:]).expanduser())
            on_argv = False
        if on_argv and value and _has_password(value):
            warn(f"{flag} carries a password on the command line, where `ps` and the shell history show it; "
                 f"set {envvar} or pass {flag} @FILE (a file readable by you only) instead.")
        urls[field_name] = value
    return urls


def _url_from_file(flag: str, path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"{flag} @{path}: the file cannot be read ({exc.strerror}).",
                         hint=f"Write the URL on the first line of a file readable by you only: {flag} @PATH.") \
            from None
    url = lines[0].strip() if lines else ""
    if not url:
        raise UsageError(f"{flag} @{path}: the file is empty.", hint="Write the URL on its first line.")
    return url


def _has_password(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return bool(parts.password) or "password=" in parts.query.lower()
    except ValueError:
        return "@" in url


def _env_name(session: Session) -> str:
    name = session.env_name or session.settings.default_env
    session.settings.env(name, "aws")  # validates the name (ConfigError naming --env)
    return str(name)
