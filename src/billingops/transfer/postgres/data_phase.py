"""The data phase of a PostgreSQL migration: COPY pipes under one snapshot, each table's indexes built as soon
as its rows are in and each foreign key added as soon as both its tables are indexed, journaled as it goes.

Apart from migrate.py (the phases in order) because this one phase is a scheduler of its own: three kinds of
work (COPY units, index batches, key batches) on two pools, with the journal throttled.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.transfer.postgres import copy as postgres_copy
from billingops.transfer.postgres import schema as postgres_schema
from billingops.transfer.postgres import smallcopy as postgres_smallcopy
from billingops.transfer.postgres import units as postgres_units
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import TableInfo
from billingops.transfer.progress import CopyMonitor, Reporter

if TYPE_CHECKING:  # migrate.py runs this phase: its option and result types only, no cycle at run time
    from billingops.transfer.postgres.migrate import PgOptions, PgResult


class DataPhase:
    """Copy every unfinished table; build each table's indexes and keys as soon as its rows are in.

    Takes what it needs from the migration explicitly; `post_plan` and `dump` are called, not passed as values,
    so that the dump is read (or made) exactly when the migration would have."""

    def __init__(
        self,
        source: PgEndpoint,
        target: PgEndpoint,
        tables: list[TableInfo],
        options: PgOptions,
        state: dict[str, Any],
        save: Callable[[], None],
        reporter: Reporter,
        result: PgResult,
        post_plan: Callable[[], postgres_schema.PostDataPlan],
        dump: Callable[[], Path],
        workdir: Path,
    ) -> None:
        self.source, self.target, self.tables, self.options = source, target, tables, options
        self.state, self.save, self.reporter, self.result = state, save, reporter, result
        self.post_plan, self.dump, self.workdir = post_plan, dump, workdir

    def run(self, snapshot: str) -> None:
        tables = self.tables
        done: list[str] = self.state.setdefault("tables_done", [])
        indexed: list[str] = self.state.setdefault("tables_indexed", [])
        todo = [t for t in tables if t.key not in done]
        split = postgres_units.split_bytes_for(tables, self.options.jobs, self.options.split_mb)
        plan = self.post_plan()
        units = postgres_units.plan_units(todo, split_bytes=split)
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
                    self.dump(),
                    self.workdir,
                    name,
                    entries,
                    jobs=1,
                    tolerate_existing=self.options.resumed,
                    options=options,
                )

            started_fks: set[str] = set()
            # What each future is: a COPY unit, a batch of tables whose indexes are being built, or of keys.
            pending: dict[cf.Future[Any], postgres_units.Unit | _IndexBatch | _KeyBatch] = {
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
