"""The PostgreSQL half of migrate-cloud, phase by phase, each recorded in the run journal:

preflight (connect, inventory, extensions, empty target) -> schema (pre-data) -> data (COPY pipes under one
snapshot; each table's indexes built as soon as it is in, each foreign key as soon as both its tables are
indexed) -> large objects -> post-data (what is left: triggers, keys on partitioned tables...: pg_restore -j)
-> sequences -> verify. A resumed run skips finished phases and finished tables; a
table that was not finished is emptied and copied again, so no row is ever doubled.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billingops.errors import BillingOpsError, Interrupted
from billingops.transfer.postgres import copy as postgres_copy
from billingops.transfer.postgres import objects as postgres_objects
from billingops.transfer.postgres import pre_data
from billingops.transfer.postgres import schema as postgres_schema
from billingops.transfer.postgres import verify as postgres_verify
from billingops.transfer.postgres import watchdog as postgres_watchdog
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.data_phase import DataPhase
from billingops.transfer.postgres.preflight import PgPreflight
from billingops.transfer.progress import Reporter

log = logging.getLogger(__name__)


@dataclass
class PgOptions:
    jobs: int = 2
    verify: str = "full"
    split_mb: float | None = None
    resumed: bool = False
    # Called as each table copy unit starts; raises (LockLost, exit 4) once the run lost its deploy lock.
    fence: Callable[[str], None] | None = None


@dataclass
class PgResult:
    tables: int = 0
    rows: int = 0
    bytes: int = 0
    large_objects: int = 0
    sequences: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    verification: postgres_verify.VerifyReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tables": self.tables,
            "rows_copied": self.rows,
            "bytes": self.bytes,
            "large_objects": self.large_objects,
            "sequences": self.sequences,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "skipped": self.skipped,
            "verification": self.verification.to_dict() if self.verification else None,
        }


class PgMigration:
    def __init__(
        self,
        source: PgEndpoint,
        target: PgEndpoint,
        checked: PgPreflight,
        options: PgOptions,
        state: dict[str, Any],
        save: Callable[[], None],
        reporter: Reporter,
        workdir: Path,
        schema_dump: postgres_schema.SchemaDump | None = None,
    ) -> None:
        """`schema_dump`: the source's schema dump, started before the preflight (migrate-cloud's run does);
        None: dumped when the schema phase starts, unless the workdir holds one already (a resumed run)."""
        self.source, self.target, self.checked, self.options = source, target, checked, options
        self.state, self.save, self.reporter, self.workdir = state, save, reporter, workdir
        self.schema_dump = schema_dump
        self.result = PgResult(skipped=self._skipped_report())
        self._plan: postgres_schema.PostDataPlan | None = None

    def _skipped_report(self) -> list[str]:
        inv = self.checked.source
        return (
            [f"event trigger {n}" for n in inv.event_triggers]
            + [f"publication {n}" for n in inv.publications]
            + [f"subscription {n}" for n in inv.subscriptions]
        )

    def _mark(self, key: str, value: Any = True) -> None:
        self.state[key] = value
        self.save()

    def run(self) -> PgResult:
        # A server that freezes mid-run (no answer, no closed connection) would hang a query or a pipe for ever:
        # the watchdog wakes everything waiting on it, and its error replaces the one each waiter then raises.
        with postgres_watchdog.watching([self.source, self.target]):
            try:
                return self._run()
            finally:
                if self.schema_dump is not None:
                    self.schema_dump.stop()  # an interrupted or failed run does not leave pg_dump running

    def _run(self) -> PgResult:
        self.workdir.mkdir(parents=True, exist_ok=True)
        tables = self.checked.source.tables
        self.result.tables = len(tables)
        holder = postgres_copy.SnapshotHolder(self.source)
        try:
            self._timed("schema", lambda: self._schema())
            self._timed("data", lambda: self._data(holder.snapshot))
            self._post_data_beside_large_objects()
            self._timed("sequences", self._sequences)
            self.reporter.phase("verify", f"postgres: verifying ({self.options.verify}) {len(tables)} tables")
            started = time.monotonic()
            self.result.verification = postgres_verify.verify(
                self.source,
                self.target,
                tables,
                mode=self.options.verify,
                jobs=self.options.jobs,
                snapshot=holder.snapshot,
            )
            self.result.seconds["verify"] = time.monotonic() - started
        except KeyboardInterrupt:
            raise Interrupted(
                "The PostgreSQL migration was interrupted; finished steps and tables are recorded.",
                hint="Rerun the same command with --resume to finish it.",
            ) from None
        finally:
            holder.close()
        return self.result

    def _timed(self, name: str, step: Callable[[], None]) -> None:
        if self.state.get(name):
            self.reporter.phase(name, f"postgres: {name.replace('_', ' ')} already done in this run, skipped")
            return
        started = time.monotonic()
        try:
            step()
        except BillingOpsError as exc:
            raise self._failed(name, exc) from exc
        self.result.seconds[name] = time.monotonic() - started
        self.state.pop("last_failure", None)
        self._mark(name)

    def _failed(self, name: str, exc: BillingOpsError) -> BillingOpsError:
        """Record a phase's error in the journal; a resumed run that meets the very same error says so,
        instead of sending the operator round the same `--resume` loop."""
        previous = self.state.get("last_failure")
        current = {"phase": name, "message": exc.message}
        self._mark("last_failure", current)
        if not (self.options.resumed and previous == current):
            return exc
        return type(exc)(
            f"{exc.message} This is the same error the run before this resume stopped with.",
            hint="Resuming again will stop here again: the cause is not a passing fault. Fix it on the source or "
            "the target (or leave the object out of the migration) before --resume; if the cause is on "
            "migrate-cloud's side, report it with this message.",
            details=exc.details,
        )

    def _dump(self) -> Path:
        if self.schema_dump is not None:
            return self.schema_dump.wait()
        dump = self.workdir / "schema.dump"
        if not dump.is_file():
            # One dump for the whole run: a resumed run builds post-data from the same schema it started with.
            dump = postgres_schema.dump_schema(self.source, self.workdir)
        return dump

    def _schema(self) -> None:
        self.reporter.phase("schema", "postgres: creating the schema on the target (pre-data)")
        dump = self._dump()
        # The post-data plan (a listing of the dump, two catalog queries on the source) is read while the
        # target creates the schema: the data phase needs it first thing.
        with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="post-data-plan") as planning:
            plan = planning.submit(self._post_plan)
            xid = self.state.get("pre_data_xid")
            if xid is not None and pre_data.committed(self.target, int(xid)):
                # killed after the schema's transaction committed and before the journal said so
                log.info("the interrupted run's schema transaction %s committed on the target: not redone", xid)
                skipped = []
            else:
                skipped = postgres_schema.restore_pre_data(self.target, dump, self.workdir,
                                                           lambda x: self._mark("pre_data_xid", x))
            plan.result()
        for item in skipped:
            log.info("skipped %s", item)

    def _post_plan(self) -> postgres_schema.PostDataPlan:
        if self._plan is None:
            with self.source.connect(read_only=True) as conn:
                self._plan = postgres_schema.plan_post_data(
                    self._dump(), conn, {t.key for t in self.checked.source.tables}
                )
        return self._plan

    def _data(self, snapshot: str) -> None:
        """Copy every unfinished table; build each table's indexes and keys as soon as its rows are in."""
        DataPhase(
            self.source,
            self.target,
            self.checked.source.tables,
            self.options,
            self.state,
            self.save,
            self.reporter,
            self.result,
            self._post_plan,
            self._dump,
            self.workdir,
        ).run(snapshot)

    def _post_data_beside_large_objects(self) -> None:
        """Large objects are copied while post-data is built: neither touches what the other does
        (pg_largeobject against keys, triggers, index attachments and materialized view contents), each is a
        stream of its own sessions, and one after the other they were most of a small database's tail. Each
        phase is journaled on its own: a resumed run redoes only the unfinished one."""
        if self.state.get("large_objects") or not self.checked.source.large_objects:
            self._timed("large_objects", self._large_objects)
            self._timed("post_data", self._post_data)
            return
        self.reporter.phase(
            "large_objects", f"postgres: copying {self.checked.source.large_objects} large objects meanwhile"
        )
        sessions: list[Any] = []  # the copy's two sessions, cancelled if post-data fails or is interrupted
        stop = threading.Event()
        started = time.monotonic()
        with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="large-objects") as pool:
            copying = pool.submit(self._large_objects, sessions, stop)
            try:
                self._timed("post_data", self._post_data)
            except BaseException:
                stop.set()
                for conn in list(sessions):
                    conn.cancel_safe()
                try:
                    copying.result()
                except Exception as exc:  # noqa: BLE001  # cancelled: post-data's error is the one to report
                    log.debug("large objects stopped: %s", exc)
                raise
            self._timed("large_objects", copying.result)
        self.result.seconds["large_objects"] = time.monotonic() - started

    def _large_objects(self, sessions: list[Any] | None = None, stop: threading.Event | None = None) -> None:
        if not self.checked.source.large_objects:
            return
        if sessions is None:
            self.reporter.phase(
                "large_objects", f"postgres: copying {self.checked.source.large_objects} large objects"
            )
        with self.source.connect(read_only=True) as src, self.target.connect() as dst:
            if sessions is not None:
                sessions.extend((src, dst))
            if stop is not None and stop.is_set():
                return
            self.result.large_objects = postgres_objects.copy_large_objects(src, dst)

    def _post_data(self) -> None:
        self.reporter.phase(
            "post_data",
            f"postgres: building foreign keys, triggers and what else spans tables "
            f"(pg_restore -j {self.options.jobs})",
        )
        views = self.checked.source.materialized_views
        if views:
            self.reporter.phase("post_data", f"postgres: refreshing {len(views)} materialized views meanwhile")
        # A schema-only dump carries no materialized view contents: they are built from the copied rows while
        # pg_restore adds the rest. Their locks cross only on a view itself (an index on it waits for the
        # refresh, or the refresh rebuilds it); keys and triggers lock tables that a refresh only reads.
        conn = self.target.connect() if views else None
        try:
            with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="matview-refresh") as pool:
                refreshed = pool.submit(_refresh, conn, views) if conn is not None else None
                try:
                    postgres_schema.restore_entries(
                        self.target,
                        self._dump(),
                        self.workdir,
                        "final",
                        [e for e in self._post_plan().rest
                         if e not in set(self.state.get("foreign_keys_done", []))],
                        jobs=self.options.jobs,
                        tolerate_existing=self.options.resumed,
                    )
                except BaseException:
                    if conn is not None:
                        conn.cancel_safe()  # neither a Ctrl-C nor a failed restore waits for a long refresh
                    raise
                if refreshed is not None:
                    refreshed.result()
        finally:
            if conn is not None:
                conn.close()

    def _sequences(self) -> None:
        with self.source.connect(read_only=True) as src, self.target.connect() as dst:
            values = postgres_objects.read_sequences(src)
            self.result.sequences = postgres_objects.set_sequences(dst, values)
        self.reporter.phase(
            "sequences", f"postgres: set {self.result.sequences} sequences to the source's values"
        )


def _refresh(conn: Any, views: list[str]) -> None:  # Any: a psycopg connection
    for view in views:
        conn.execute(f"REFRESH MATERIALIZED VIEW {view}")
