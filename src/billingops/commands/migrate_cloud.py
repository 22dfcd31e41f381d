"""`billingops migrate-cloud SOURCE TARGET --env ENV`: move PostgreSQL and Redis data between AWS and GCP,
verified.

The heavy lifting lives in billingops.transfer; this module parses options, asks for consent, keeps the run
journal and renders the result.
"""

# No `from __future__ import annotations`: with_session rebuilds the signature and Typer must see the real
# Annotated objects, not strings it cannot resolve in another module.

import contextlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from billingops.commands.common import LockWaitOpt, NoLockOpt, Session, lock_wait_seconds, with_session
from billingops.errors import ExternalError, Refused, StepFailed, UsageError

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
    from billingops.transfer import endpoints

    endpoints.check_clouds(source, target)
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
    return _locked_run(
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


def _locked_run(
    session: Session, base: dict, found: Any, *, lock_env: Any, lock_wait: float, resume: bool, **options: Any
) -> int:
    """The run under the deploy lock of the environment being written (the target cloud's), held under the
    journal's run id so that `locks` and `unlock` can tell whether its holder still runs."""
    from billingops.audit import new_run_id
    from billingops.transfer.interrupts import CtrlC

    previous = _resumable(session, base) if resume else None
    run_id = previous.run_id if previous is not None else new_run_id()
    with CtrlC(_notifier(session.output)) as ctrl_c, _deploy_lock(session, lock_env, run_id, lock_wait, ctrl_c):
        journal = previous or _journal(session, base, run_id)
        if previous is not None:
            journal.reopen()
        return _run(session, base, found, journal, ctrl_c, resume=resume, **options)


def _notifier(output: Any) -> Any:
    def notify(message: str) -> None:
        if output.json_mode:  # stderr carries JSON-lines progress events: this is one more
            sys.stderr.write(json.dumps({"event": "interrupt", "ts": round(time.time(), 3), "message": message}))
            sys.stderr.write("\n")
            sys.stderr.flush()
        else:
            output.say(message, "warn")

    return notify


@contextlib.contextmanager
def _deploy_lock(session: Session, env: Any, run_id: str, wait: float, ctrl_c: Any) -> Iterator[None]:
    if env is None:
        log.info("--no-lock: not taking the deploy lock for migrate-cloud")
        yield
        return
    from billingops.locks.deploy_lock import acquire

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(acquire(env, run_id, COMMAND, wait=wait, runs_dir=session.settings.runs_dir))
        except ExternalError as exc:
            # Only taking the lock is translated here: errors of the run itself pass through untouched.
            raise ExternalError(
                f"Could not take the billingops deploy lock of {env.name} ({env.cloud}, the target): {exc.message}",
                hint=f"Check access to the {env.cloud} state backend of {env.name}; if you are sure nothing else "
                "deploys or migrates it (e.g. a rehearsal with explicit URLs), pass --no-lock.",
            ) from None
        stack.callback(ctrl_c.ending)  # runs first on the way out: a Ctrl-C must not cut the release short
        yield


def _env_name(session: Session) -> str:
    name = session.env_name or session.settings.default_env
    session.settings.env(name, "aws")  # validates the name (ConfigError naming --env)
    return str(name)


def _dry_run(session: Session, base: dict, found: Any, jobs: int, replace: bool) -> int:
    from billingops.transfer import plan, postgres_estimate, postgres_migrate, postgres_watchdog

    doc: dict[str, Any] = {**base, "dry_run": True}
    if found.source_pg:
        with (
            session.output.status("reading both PostgreSQL databases"),
            postgres_watchdog.watching([found.source_pg, found.target_pg]),
        ):
            checked = postgres_migrate.preflight(found.source_pg, found.target_pg)
            estimate = postgres_estimate.estimate(found.source_pg, checked.source, jobs)
        doc["postgres"] = {"preflight": checked.to_dict(), "estimate": estimate}
    if found.source_redis:
        from billingops.transfer import redis_copy, redis_estimate

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


def _run(
    session: Session,
    base: dict,
    found: Any,
    journal: Any,
    ctrl_c: Any,
    *,
    jobs: int,
    verify: str,
    resume: bool,
    replace: bool,
    split_mb: float | None,
) -> int:
    from billingops.transfer import plan, postgres_migrate
    from billingops.transfer.progress import Reporter

    settings, output = session.settings, session.output
    state = journal.data.setdefault("migrate", {"endpoints": base["endpoints"], "postgres": {}, "redis": {}})
    audit = session.audit()
    audit.record(
        COMMAND,
        phase="start",
        run_id=journal.run_id,
        resume=resume,
        **{k: base[k] for k in ("source", "target", "env", "endpoints")},
    )
    doc: dict[str, Any] = {**base, "run_id": journal.run_id, "resumed": resume}
    status = "failed"
    try:
        pg_checked = redis_checked = None
        if found.source_pg:
            with output.status("checking both PostgreSQL databases"):
                pg_checked = postgres_migrate.preflight(found.source_pg, found.target_pg)
            postgres_migrate.require_extensions(pg_checked)
        if found.source_redis:
            from billingops.transfer import redis_copy

            redis_checked = redis_copy.preflight(found.source_redis, found.target_redis)
        if not resume:
            _consent(session, base, pg_checked, redis_checked, replace, found)
            # From here on the target holds this run's data: only now may --resume skip the empty-target check.
            state["started_copy"] = True
            journal.save()
        with Reporter(output) as reporter:
            if pg_checked is not None:
                pg = postgres_migrate.PgMigration(
                    found.source_pg,
                    found.target_pg,
                    pg_checked,
                    postgres_migrate.PgOptions(jobs=jobs, verify=verify, split_mb=split_mb, resumed=resume),
                    state["postgres"],
                    journal.save,
                    reporter,
                    settings.runs_dir / f"{journal.run_id}.postgres",
                )
                doc["postgres"] = {**pg.run().to_dict(), "roles_missing_on_target": pg_checked.missing_roles}
            if redis_checked is not None:
                doc["redis"] = _redis(
                    found,
                    redis_checked,
                    state["redis"],
                    journal,
                    reporter,
                    jobs=jobs,
                    verify=verify,
                    replace=replace,
                )
        ok = all(
            part["verification"]["ok"]
            if isinstance(part["verification"], dict)
            else all(d["ok"] for d in part["verification"])
            for part in (doc.get("postgres"), doc.get("redis"))
            if part
        )
        doc["ok"] = ok
        doc["cutover"] = plan.cutover_steps(base["source"], base["target"], base["env"])
        status = "ok" if ok else "failed"
    except BaseException as exc:
        status = (
            "interrupted"
            if isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "Interrupted"
            else ("refused" if isinstance(exc, Refused) else "failed")
        )
        raise
    finally:
        ctrl_c.ending()  # from here a Ctrl-C no longer interrupts: the journal must say how the run ended
        journal.finish(status)
        audit.record(COMMAND, phase="end", run_id=journal.run_id, status=status)
        if status == "ok":
            # The schema dump is kept only while the run may still be resumed.
            shutil.rmtree(settings.runs_dir / f"{journal.run_id}.postgres", ignore_errors=True)
    output.result(doc, lambda _console: plan.render_result(output, doc))
    if not doc["ok"]:
        failed = (doc.get("postgres") or {}).get("verification", {}).get("failed_tables", [])
        output.error(
            StepFailed(
                f"Verification failed{': ' + ', '.join(failed) if failed else ''}.",
                hint="Do not cut over. See the verification table; rerun with --replace-target "
                "after finding the cause.",
            )
        )
        return 1
    return 0


def _journal(session: Session, base: dict, run_id: str) -> Any:
    from billingops.journal import Journal

    return Journal.create(
        session.settings.runs_dir,
        command=COMMAND,
        env=base["env"],
        cloud=f"{base['source']}->{base['target']}",
        argv=session.argv,
        run_id=run_id,
    )


def _resumable(session: Session, base: dict) -> Any:
    """The unfinished run to resume, checked; reopened only once its deploy lock is held."""
    from billingops.journal import Journal

    journal = Journal.latest(session.settings.runs_dir, command=COMMAND, env=base["env"], unfinished_only=True)
    if journal is None:
        raise UsageError(
            f"There is no unfinished migrate-cloud run for {base['env']} to resume.",
            hint="Start a new run without --resume.",
        )
    if not journal.data.get("migrate", {}).get("started_copy"):
        raise UsageError(
            f"The last migrate-cloud run for {base['env']} ({journal.run_id}) stopped before copying anything "
            f"(status {journal.status}), so there is nothing to resume.",
            hint="Start a new run without --resume (it checks the target again).",
        )
    previous = journal.data.get("migrate", {}).get("endpoints")
    if previous and previous != base["endpoints"]:
        raise UsageError(
            f"Run {journal.run_id} moved different endpoints ({previous}); it cannot be resumed "
            f"with {base['endpoints']}.",
            hint="Pass the same URLs as the interrupted run.",
        )
    return journal


def _consent(session: Session, base: dict, pg: Any, redis: Any, replace: bool, found: Any) -> None:
    """Refuse a non-empty target unless --replace-target is given and confirmed; then empty it."""
    busy = []
    if pg is not None and pg.target_objects:
        busy.append(f"the target database {found.target_pg.shown} holds {', '.join(pg.target_objects[:5])}")
    if redis is not None and redis.target.total_keys:
        keys = redis.target.total_keys
        busy.append(f"the target Redis {found.target_redis.shown} holds {keys} key{'s' if keys != 1 else ''}")
    if not busy:
        return
    if not replace:
        raise Refused(
            f"Refusing to migrate into a non-empty target: {'; '.join(busy)}.",
            hint="Check you picked the right target; pass --replace-target to overwrite it "
            "(everything in it is dropped).",
        )
    question = f"Overwrite the {base['target']} {base['env']} data ({'; '.join(busy)})?"
    if not session.yes and not session.output.confirm_typed(question, base["env"], flag="--yes"):
        raise Refused(
            "The target was not overwritten: the confirmation did not match.",
            hint=f"Type the environment name ({base['env']}) exactly, or pass --yes.",
        )
    if pg is not None and pg.target_objects:
        from billingops.transfer import postgres_schema

        with found.target_pg.connect() as conn:
            postgres_schema.wipe_target(conn)
    if redis is not None and redis.target.total_keys:
        _flush_redis(found.target_redis, [db for db, keys in redis.target.dbs.items() if keys])
        redis.target.dbs = {}


def _flush_redis(endpoint: Any, dbs: list[int]) -> None:
    """Empty the target's databases (confirmed --replace-target): keys the source lacks would fail
    verification."""
    from billingops.errors import ExternalError
    from billingops.transfer.redis_resp import RespConnection, is_error

    for db in dbs:
        with RespConnection(endpoint.url, db=db, ca_file=endpoint.ca_file, timeout=120.0) as conn:
            reply = conn.call(b"FLUSHDB")
        if is_error(reply):
            raise ExternalError(
                f"Could not empty db {db} of the target Redis {endpoint.shown}: {reply}.",
                hint="Empty it by hand (FLUSHDB must be allowed for this user), then rerun.",
            )


def _redis(
    found: Any,
    checked: Any,
    state: dict,
    journal: Any,
    reporter: Any,
    *,
    jobs: int,
    verify: str,
    replace: bool,
) -> dict:
    from billingops.transfer import redis_copy, redis_verify

    dbs = sorted(db for db, keys in checked.source.dbs.items() if keys)
    done: list[int] = state.setdefault("dbs_done", [])
    state.setdefault("copy_started_ms", int(time.time() * 1000))
    journal.save()

    def db_done(result: Any) -> None:
        done.append(result.db)
        journal.save()

    reporter.phase("redis", f"redis: copying dbs {', '.join(map(str, dbs)) or '(none)'}")
    results = redis_copy.copy(
        found.source_redis,
        found.target_redis,
        dbs=dbs,
        jobs=jobs,
        replace=replace,
        on_progress=reporter.redis,
        journal_done=set(done),
        on_db_done=db_done,
        checked=checked,
    )
    finished_ms = int(time.time() * 1000)
    reporter.phase("redis_verify", f"redis: verifying ({verify})")
    checks = redis_verify.verify(
        found.source_redis,
        found.target_redis,
        dbs=dbs,
        mode=verify,
        copy_started_ms=state["copy_started_ms"],
        copy_finished_ms=finished_ms,
        jobs=jobs,
        on_progress=lambda update: reporter.redis({**update, "phase": "verify"}),
    )
    return {"copied": [r.to_dict() for r in results], "verification": [c.to_dict() for c in checks]}
