"""The real migrate-cloud run: under the target environment's deploy lock and the run journal (the run
lifecycle), with Ctrl-C handling, the PostgreSQL and Redis parts, and the result (verification, cutover steps)."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.errors import BillingOpsError, ExternalError, Refused, StepFailed, UsageError
from billingops.runs.lifecycle import RunFailed
from billingops.services.migrate_cloud.target import consent

if TYPE_CHECKING:
    from billingops.runs.journal import Journal
    from billingops.runs.lifecycle import Run
    from billingops.session import Session
    from billingops.transfer.postgres.conn import PgEndpoint
    from billingops.transfer.postgres.schema import SchemaDump
    from billingops.transfer.progress import Bars, Reporter
    from billingops.ui import UI

COMMAND = "migrate-cloud"

log = logging.getLogger(__name__)


def locked_run(
    session: Session, base: dict[str, Any], found: Any, *, lock_env: Any, lock_wait: float, resume: bool,
    bars: Bars | None = None, **options: Any
) -> dict[str, Any]:
    """The run under the deploy lock of the environment being written (the target cloud's), held under the
    journal's run id so that `locks` and `unlock` can tell whether its holder still runs."""
    from billingops.runs.lifecycle import AuditSpelling, DeployLock, run_lifecycle
    from billingops.transfer.interrupts import CtrlC

    previous = _resumable(session, base) if resume else None
    if lock_env is None:
        log.info("--no-lock: not taking the deploy lock for migrate-cloud")
    lock = None if lock_env is None else DeployLock(lock_env, lock_wait, on_error=_lock_error(lock_env))
    with CtrlC(_notifier(session.ui)) as ctrl_c, run_lifecycle(
        session, command=COMMAND, env_name=base["env"], cloud=f"{base['source']}->{base['target']}",
        previous=previous, lock=lock, spelling=AuditSpelling(phased=True, outcome_key="status"),
        ending=ctrl_c.ending, outcome_of=_outcome_of,
    ) as run:
        return _run(session, base, found, run, resume=resume, bars=bars, **options)


def _lock_error(env: Any) -> Callable[[ExternalError], ExternalError]:
    def translate(exc: ExternalError) -> ExternalError:
        return ExternalError(
            f"Could not take the billingops deploy lock of {env.name} ({env.cloud}, the target): {exc.message}",
            hint=f"Check access to the {env.cloud} state backend of {env.name}; if you are sure nothing else "
            "deploys or migrates it (e.g. a rehearsal with explicit URLs), pass --no-lock.",
        )

    return translate


def _outcome_of(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "Interrupted":
        return "interrupted"
    return "refused" if isinstance(exc, Refused) else "failed"


def _notifier(ui: UI) -> Callable[[str], None]:
    def notify(message: str) -> None:
        if ui.json_mode:  # stderr carries JSON-lines progress events: this is one more
            sys.stderr.write(json.dumps({"event": "interrupt", "ts": round(time.time(), 3), "message": message}))
            sys.stderr.write("\n")
            sys.stderr.flush()
        else:
            ui.say(message, "warn")

    return notify


def _run(
    session: Session,
    base: dict[str, Any],
    found: Any,
    run: Run,
    *,
    bars: Bars | None,
    jobs: int,
    redis_jobs: int,
    verify: str,
    resume: bool,
    replace: bool,
    split_mb: float | None,
) -> dict[str, Any]:
    from billingops.locks.heartbeat import fence_all
    from billingops.transfer import plan
    from billingops.transfer.postgres import migrate as postgres_migrate
    from billingops.transfer.postgres import preflight as postgres_preflight
    from billingops.transfer.progress import Reporter

    settings, ui = session.settings, session.ui
    journal = run.journal
    state = journal.data.setdefault("migrate", {"endpoints": base["endpoints"], "postgres": {}, "redis": {}})
    audited = ("source", "target", "env", "endpoints", "tls", "insecure_redis_tls")
    run.start(resume=resume, **{k: base[k] for k in audited if k in base})
    doc: dict[str, Any] = {**base, "run_id": journal.run_id, "resumed": resume}
    pg_checked = redis_checked = None
    pg_workdir = settings.runs_dir / f"{journal.run_id}.postgres"
    with early_schema_dump(found.source_pg, pg_workdir) as schema_dump:
        if found.source_pg:
            with ui.status("checking both PostgreSQL databases"):
                pg_checked = postgres_preflight.preflight(found.source_pg, found.target_pg)
            postgres_preflight.require_extensions(pg_checked)
        if found.source_redis:
            from billingops.transfer.redis import copy as redis_copy
            redis_checked = redis_copy.preflight(found.source_redis, found.target_redis)
        if not resume:
            consent(session, base, pg_checked, redis_checked, replace, found)
            # From here on the target holds this run's data: only now may --resume skip the empty-target check.
            state["started_copy"] = True
            journal.save()
    with Reporter(ui, bars) as reporter:
        if pg_checked is not None:
            pg = postgres_migrate.PgMigration(
                found.source_pg,
                found.target_pg,
                pg_checked,
                postgres_migrate.PgOptions(jobs=jobs, verify=verify, split_mb=split_mb, resumed=resume,
                                           fence=fence_all),
                state["postgres"],
                journal.save,
                reporter,
                pg_workdir,
                schema_dump=schema_dump,
            )
            doc["postgres"] = {**pg.run().to_dict(), "roles_missing_on_target": pg_checked.missing_roles}
        if redis_checked is not None:
            doc["redis"] = _redis(
                found,
                redis_checked,
                state["redis"],
                journal,
                reporter,
                jobs=redis_jobs,
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
    # From here a Ctrl-C no longer interrupts (run.finish ends the Ctrl-C handling first): the journal must
    # say how the run ended.
    run.finish(status)
    if status == "ok":
        # The schema dump is kept only while the run may still be resumed.
        shutil.rmtree(settings.runs_dir / f"{journal.run_id}.postgres", ignore_errors=True)
    if not doc["ok"]:
        failed = (doc.get("postgres") or {}).get("verification", {}).get("failed_tables", [])
        raise RunFailed(doc, StepFailed(
            f"Verification failed{': ' + ', '.join(failed) if failed else ''}.",
            hint="Do not cut over. See the verification table; rerun with --replace-target "
            "after finding the cause.",
        ))
    return doc


@contextlib.contextmanager
def early_schema_dump(source: PgEndpoint | None, workdir: Path) -> Iterator[SchemaDump | None]:
    """The source's schema dump, started now so that it runs while both sides are checked (pg_dump's catalog
    reads and the preflight's overlap; the schema phase then finds it done or nearly). A check that fails or a
    refused consent stops it and removes what it wrote. None without PostgreSQL, when the workdir holds the
    dump of the run being resumed, or when pg_dump cannot start: the schema phase then dumps (or fails) as
    before, recorded in the journal."""
    from billingops.transfer.postgres import schema as postgres_schema

    dump = None
    if source is not None and not (workdir / "schema.dump").is_file():
        try:
            dump = postgres_schema.SchemaDump(source, workdir)
        except (BillingOpsError, OSError) as exc:
            log.info("the schema dump did not start before the checks (%s): it is taken in the schema phase", exc)
    try:
        yield dump
    except BaseException:
        if dump is not None:
            dump.discard()
            with contextlib.suppress(OSError):
                workdir.rmdir()  # only when empty: a resumed run's files stay
        raise


def _resumable(session: Session, base: dict[str, Any]) -> Journal:
    """The unfinished run to resume, checked; reopened only once its deploy lock is held."""
    from billingops.runs.journal import Journal

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


def _redis(
    found: Any,
    checked: Any,
    state: dict[str, Any],
    journal: Journal,
    reporter: Reporter,
    *,
    jobs: int,
    verify: str,
    replace: bool,
) -> dict[str, Any]:
    from billingops.transfer.redis import copy as redis_copy
    from billingops.transfer.redis import verify as redis_verify
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
