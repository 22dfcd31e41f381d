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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billingops.errors import BillingOpsError, Interrupted, StepFailed
from billingops.transfer.postgres import copy as postgres_copy
from billingops.transfer.postgres import objects as postgres_objects
from billingops.transfer.postgres import schema as postgres_schema
from billingops.transfer.postgres import smallcopy as postgres_smallcopy
from billingops.transfer.postgres import verify as postgres_verify
from billingops.transfer.postgres import watchdog as postgres_watchdog
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import (
    Inventory,
    TableInfo,
    inspect,
    missing_extensions,
    missing_roles,
    user_objects,
)
from billingops.transfer.progress import CopyMonitor, Reporter

log = logging.getLogger(__name__)


@dataclass
class PgPreflight:
    source: Inventory
    target_objects: list[str]
    missing_extensions: list[str]
    missing_roles: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target_objects": self.target_objects,
            "missing_extensions": self.missing_extensions,
            "roles_missing_on_target": self.missing_roles,
        }


@dataclass
class PgOptions:
    jobs: int = 2
    verify: str = "full"
    split_mb: float | None = None
    resumed: bool = False


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


def preflight(source: PgEndpoint, target: PgEndpoint) -> PgPreflight:
    """Read both sides (the target read-only too): nothing changes here."""
    with postgres_watchdog.watching([source, target]):
        with source.connect(read_only=True) as src:
            inventory = inspect(src)
        with target.connect(read_only=True) as dst:
            return PgPreflight(
                inventory,
                user_objects(dst),
                missing_extensions(dst, inventory.extensions),
                missing_roles(dst, inventory.roles),
            )


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
    ) -> None:
        self.source, self.target, self.checked, self.options = source, target, checked, options
        self.state, self.save, self.reporter, self.workdir = state, save, reporter, workdir
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
            return self._run()

    def _run(self) -> PgResult:
        self.workdir.mkdir(parents=True, exist_ok=True)
        tables = self.checked.source.tables
        self.result.tables = len(tables)
        holder = postgres_copy.SnapshotHolder(self.source)
        try:
            self._timed("schema", lambda: self._schema())
            self._timed("data", lambda: self._data(holder.snapshot))
            self._timed("large_objects", self._large_objects)
            self._timed("post_data", self._post_data)
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
        dump = self.workdir / "schema.dump"
        if not dump.is_file():
            # One dump for the whole run: a resumed run builds post-data from the same schema it started with.
            dump = postgres_schema.dump_schema(self.source, self.workdir)
        return dump

    def _schema(self) -> None:
        self.reporter.phase("schema", "postgres: creating the schema on the target (pre-data)")
        skipped = postgres_schema.restore_pre_data(self.target, self._dump(), self.workdir)
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
        tables = self.checked.source.tables
        done: list[str] = self.state.setdefault("tables_done", [])
        indexed: list[str] = self.state.setdefault("tables_indexed", [])
        todo = [t for t in tables if t.key not in done]
        split = postgres_copy.split_bytes_for(tables, self.options.jobs, self.options.split_mb)
        plan = self._post_plan()
        references: dict[str, set[str]] = {}
        for fk in plan.foreign_keys:
            references.setdefault(fk.table, set()).add(fk.referenced)
        order = postgres_copy.copy_order(todo, references)
        units = postgres_copy.plan_units(todo, split_bytes=split, order=order)
        if self.options.resumed:
            # Split tables have one transaction per range, and a range may have committed just before the
            # interruption without reaching the journal: empty every unfinished split table first.
            postgres_copy.truncate(
                self.target, sorted({u.table.key: u.table for u in units if u.split}.values(), key=lambda t: t.key)
            )
        self.reporter.phase(
            "data",
            f"postgres: copying {len(todo)} tables ({len(units)} COPY pipes, "
            f"{self.options.jobs} at a time){' - resumed' if done else ''}",
        )
        self.reporter.tables_planned({t.key: t.bytes for t in todo})
        remaining = {t.key: sum(1 for u in units if u.table.key == t.key) for t in todo}
        rows = {t.key: 0 for t in todo}
        with (
            self.target.connect() as monitor_conn,
            CopyMonitor(monitor_conn, _target_oids(monitor_conn, todo), self.reporter),
            # Closed after the pools below have finished with them.
            postgres_smallcopy.CopySessions(self.source, self.target, snapshot) as sessions,
            cf.ThreadPoolExecutor(max_workers=max(1, self.options.jobs)) as pool,
            # Index builds get their own `jobs` workers (pgcopydb's --index-jobs): a finished table's indexes
            # never wait behind the remaining COPY pipes, and the COPYs never wait behind an index build.
            cf.ThreadPoolExecutor(max_workers=max(1, self.options.jobs)) as index_pool,
        ):

            fks_done: list[str] = self.state.setdefault("foreign_keys_done", [])
            # Tables copied whole in this run (COPY FREEZE: all-visible), where index-only scans pay off.
            frozen = {u.table.key for u in units if not u.split}
            # Tables whose rows are in and whose indexes are not built yet, in the order they finished.
            to_index: list[str] = [key for key in done if key not in indexed]
            fk_tables: set[str] = set()  # the tables of the foreign keys being added now
            saver = _Throttled(self.save)

            def index_slots() -> int:
                return max(1, self.options.jobs) - sum(
                    1 for what in pending.values() if isinstance(what, (_IndexBatch, _KeyBatch))
                )

            def schedule() -> None:
                """Start index and foreign key work on the free index workers, in batches: one pg_restore for
                every table whose rows are in since the last one (many small tables cost one process, one
                connection and one read of the dump between them, not one each), then the keys whose two
                tables are indexed, a batch per worker."""
                while index_slots() > 0:
                    if to_index:
                        batch = _IndexBatch(tuple(to_index))
                        to_index.clear()
                        entries = [e for key in batch.keys for e in plan.per_table.get(key, [])]
                        pending[restore(f"indexes-{batch.keys[0]}-{len(batch.keys)}", entries, "")] = batch
                        continue
                    if not start_foreign_keys():
                        return

            def start_foreign_keys() -> bool:
                # Adding a foreign key locks both tables (SHARE ROW EXCLUSIVE): keys are added one after the
                # other inside a batch (one session), and two batches never share a table. Both tables must
                # have their indexes: the referenced key's, and the one the merge join reads.
                ready, added = set(indexed), set(fks_done)
                batch: list[postgres_schema.ForeignKey] = []
                for fk in plan.foreign_keys:
                    if fk.entry in added or fk.entry in started_fks or not fk.tables <= ready:
                        continue
                    if fk.tables & fk_tables:
                        continue
                    merge = fk.indexed and fk.tables <= frozen
                    if batch and merge != (batch[0].indexed and batch[0].tables <= frozen):
                        continue  # the session option differs: the next batch
                    batch.append(fk)
                if not batch:
                    return False
                # A key on the target implies its tables are journaled as copied and indexed: a resumed run
                # never empties a table a key already references.
                saver.flush()
                for fk in batch:
                    started_fks.add(fk.entry)
                    fk_tables.update(fk.tables)
                merge = batch[0].indexed and batch[0].tables <= frozen
                name = f"fk-{batch[0].table}-{len(batch)}"
                options = postgres_schema.MERGE_JOIN_OPTIONS if merge else ""
                pending[restore(name, [fk.entry for fk in batch], options)] = _KeyBatch(tuple(batch))
                return True

            def restore(name: str, entries: list[str], options: str) -> cf.Future[None]:
                return index_pool.submit(
                    postgres_schema.restore_entries,
                    self.target,
                    self._dump(),
                    self.workdir,
                    name,
                    entries,
                    jobs=1,
                    tolerate_existing=self.options.resumed,
                    options=options,
                )

            started_fks: set[str] = set()
            # What each future is: a COPY unit, a batch of tables whose indexes are being built, or of keys.
            pending: dict[cf.Future[Any], postgres_copy.Unit | _IndexBatch | _KeyBatch] = {
                (
                    pool.submit(postgres_smallcopy.copy_small, u, sessions)
                    if postgres_smallcopy.is_small(u)
                    else pool.submit(postgres_copy.copy_unit, u, self.source, self.target, snapshot)
                ): u
                for u in units
            }
            schedule()
            try:
                while pending:
                    finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    for future in finished:
                        what = pending.pop(future)
                        result = future.result()
                        if isinstance(what, _KeyBatch):
                            for fk in what.keys:
                                fk_tables.difference_update(fk.tables)
                                fks_done.append(fk.entry)
                            saver.soon()
                            saver.flush()  # before the event: what is reported added is journaled
                            for fk in what.keys:
                                self.reporter.event("foreign_key_added", table=fk.table, references=fk.referenced)
                            continue
                        if isinstance(what, _IndexBatch):
                            indexed.extend(what.keys)
                            saver.soon()
                            for key in what.keys:
                                self.reporter.event("table_indexed", table=key)
                            continue
                        key = result.unit.table.key
                        rows[key] += result.rows
                        remaining[key] -= 1
                        self.result.rows += result.rows
                        table_done = remaining[key] == 0
                        if table_done:
                            done.append(key)
                            self.result.bytes += result.unit.table.bytes
                            saver.soon()
                            to_index.append(key)
                        self.reporter.unit_done(
                            key,
                            result.unit.table.bytes / result.unit.count,
                            rows[key],
                            table_done,
                            result.seconds,
                        )
                    schedule()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
            finally:
                saver.flush()

    def _large_objects(self) -> None:
        if not self.checked.source.large_objects:
            return
        self.reporter.phase(
            "large_objects", f"postgres: copying {self.checked.source.large_objects} large objects"
        )
        with self.source.connect(read_only=True) as src, self.target.connect() as dst:
            self.result.large_objects = postgres_objects.copy_large_objects(src, dst)

    def _post_data(self) -> None:
        self.reporter.phase(
            "post_data",
            f"postgres: building foreign keys, triggers and what else spans tables "
            f"(pg_restore -j {self.options.jobs})",
        )
        postgres_schema.restore_entries(
            self.target,
            self._dump(),
            self.workdir,
            "final",
            [e for e in self._post_plan().rest if e not in set(self.state.get("foreign_keys_done", []))],
            jobs=self.options.jobs,
            tolerate_existing=self.options.resumed,
        )
        views = self.checked.source.materialized_views
        if views:
            # A schema-only dump carries no materialized view contents: build them from the copied rows.
            self.reporter.phase("post_data", f"postgres: refreshing {len(views)} materialized views")
            with self.target.connect() as conn:
                for view in views:
                    conn.execute(f"REFRESH MATERIALIZED VIEW {view}")

    def _sequences(self) -> None:
        with self.source.connect(read_only=True) as src, self.target.connect() as dst:
            values = postgres_objects.read_sequences(src)
            self.result.sequences = postgres_objects.set_sequences(dst, values)
        self.reporter.phase(
            "sequences", f"postgres: set {self.result.sequences} sequences to the source's values"
        )


@dataclass(frozen=True)
class _IndexBatch:
    """Tables whose indexes and keys one pg_restore builds."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class _KeyBatch:
    """Foreign keys one pg_restore adds, one after the other in one session."""

    keys: tuple[postgres_schema.ForeignKey, ...]


class _Throttled:
    """Journal saves at most every SAVE_SECONDS during the data phase: a save writes and fsyncs the whole
    state, which grows with every finished table (O(n^2) over many small tables). What a lost save forgets
    is redone safely by --resume: a table is emptied in its COPY's transaction, an index or key that exists
    already is tolerated."""

    SAVE_SECONDS = 1.0

    def __init__(self, save: Callable[[], None]) -> None:
        self._save, self._dirty, self._last = save, False, time.monotonic()

    def soon(self) -> None:
        self._dirty = True
        if time.monotonic() - self._last >= self.SAVE_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._dirty:
            self._save()
            self._dirty, self._last = False, time.monotonic()


def _target_oids(conn: Any, tables: list[TableInfo]) -> dict[int, str]:
    """Target relation OIDs of the tables being copied (pg_stat_progress_copy reports the target's relid), in
    one query."""
    rows = conn.execute(
        "SELECT to_regclass(q)::oid::bigint FROM unnest(%s::text[]) WITH ORDINALITY AS u(q, i) ORDER BY i",
        ([t.qualified() for t in tables],),
    ).fetchall()
    return {int(row[0]): table.key for table, row in zip(tables, rows, strict=True) if row[0] is not None}


def require_extensions(checked: PgPreflight) -> None:
    if checked.missing_extensions:
        raise StepFailed(
            f"The target PostgreSQL does not offer these extensions used by the source: "
            f"{', '.join(checked.missing_extensions)}. No data was moved.",
            hint="Enable them on the target (Cloud SQL: supported extensions list / database flags; RDS: "
            "rds.extensions / shared_preload_libraries), or drop them on the source, then rerun.",
        )
