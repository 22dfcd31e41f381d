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


# A table at least this big has its indexes built one per session, in parallel; smaller tables share one
# pg_restore (a process and a connection cost more than their index builds).
PARALLEL_INDEX_BYTES = 16 * 1024 * 1024


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
            # A fresh run's small tables are empty: their COPY needs no TRUNCATE (nor FREEZE) before it.
            fresh = not self.options.resumed
            # Tables copied whole in this run with COPY FREEZE (all-visible), where index-only scans pay off.
            frozen = {u.table.key for u in units if not u.split and not (fresh and postgres_smallcopy.is_small(u))}
            sizes = {t.key: t.bytes for t in tables}
            # Small tables whose rows are in and whose indexes are not built yet, in the order they finished.
            to_index: list[str] = []
            # Index builds of big tables, one per session, ahead of everything else: the critical path.
            big_queue: list[_IndexBatch] = []
            big_left: dict[str, int] = {}  # big table -> its index builds not finished yet
            fk_tables: set[str] = set()  # the tables of the foreign keys being added now
            saver = _Throttled(self.save)

            def index_slots() -> int:
                return max(1, self.options.jobs) - sum(
                    1 for what in pending.values() if isinstance(what, (_IndexBatch, _KeyBatch))
                )

            def rows_in(key: str) -> None:
                """A table's rows are in: queue its index builds. A big table's keys (primary, unique,
                exclusion: ALTER TABLE, which locks out every other build on the table) are built first, in
                one session; then each of its indexes in a session of its own, up to `jobs` at a time
                (CREATE INDEX on one table do not block each other)."""
                entries = plan.per_table.get(key, [])
                if sizes.get(key, 0) < PARALLEL_INDEX_BYTES or len(entries) < 2:
                    to_index.append(key)
                    return
                constraints, indexes = postgres_schema.split_constraints(entries, plan.index_bytes)
                if constraints:
                    big_left[key] = 1
                    big_queue.append(_IndexBatch((key,), tuple(constraints), then=tuple(indexes)))
                else:
                    queue_index_builds(key, indexes)

            def queue_index_builds(key: str, indexes: list[str] | tuple[str, ...]) -> None:
                big_left[key] = len(indexes)
                big_queue.extend(_IndexBatch((key,), (entry,)) for entry in indexes)

            def index_built(batch: _IndexBatch) -> list[str]:
                """The tables whose indexes are all built now that this batch is."""
                if batch.entries is None:
                    return list(batch.keys)
                key = batch.keys[0]
                big_left[key] -= 1
                if batch.then:
                    queue_index_builds(key, batch.then)
                return [key] if big_left[key] == 0 else []

            def maintenance_options() -> str:
                """Parallel maintenance workers for a build that is the last pole: no COPY left, and index
                workers that nothing else will take."""
                copying = any(isinstance(what, postgres_units.Unit) for what in pending.values())
                spare = index_slots() - 1 - len(big_queue) - (1 if to_index else 0)
                if copying or spare <= 0:
                    return ""
                return f"-c max_parallel_maintenance_workers={spare}"

            def schedule() -> None:
                """Start index and foreign key work on the free index workers: a big table's builds first (one
                index per session), then one pg_restore for every small table whose rows are in since the
                last one (many small tables cost one process, one connection and one read of the dump between
                them, not one each), then the keys whose two tables are indexed, a batch per worker."""
                while index_slots() > 0:
                    if big_queue:
                        batch = big_queue.pop(0)
                        assert batch.entries is not None  # nosec B101  # big-table batches carry their entries
                        options = maintenance_options()
                        pending[restore(f"indexes-{batch.keys[0]}", list(batch.entries), options)] = batch
                        continue
                    # While tables still copy, one small-table batch at a time if keys are waiting: the keys
                    # take the other worker (their tables are in and indexed) instead of waiting for the last
                    # table's indexes, and the next batch gathers every table finished meanwhile (one process
                    # for more tables). Once the copies are done, the tables left share the free workers.
                    copying = any(isinstance(w, postgres_units.Unit) for w in pending.values())
                    if to_index and not (copying and small_batch_running()):
                        start_small_batch(1 if copying else index_slots())
                        continue
                    if start_foreign_keys():
                        continue
                    if not to_index:
                        return
                    start_small_batch(1)

            def small_batch_running() -> bool:
                return any(isinstance(w, _IndexBatch) and w.entries is None for w in pending.values())

            def start_small_batch(parts: int) -> None:
                """One pg_restore for the first of `parts` shares of the tables waiting for their indexes."""
                take = -(-len(to_index) // max(1, parts))
                batch = _IndexBatch(tuple(to_index[:take]))
                del to_index[:take]
                entries = [e for key in batch.keys for e in plan.per_table.get(key, [])]
                pending[restore(f"indexes-{batch.keys[0]}-{len(batch.keys)}", entries, "")] = batch

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
                # Free workers share the ready keys: this batch takes its part, whole groups of keys that share
                # tables (they must go one after the other); the next call finds the rest disjoint from it.
                batch = first_share(batch, index_slots())
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

            restores = iter(range(1, 1 << 62))  # list files of restores running at once never share a name

            def restore(name: str, entries: list[str], options: str) -> cf.Future[None]:
                label = f"{name}-{next(restores)}"

                def build() -> None:
                    if self.options.fence is not None:  # index and key builds are writes too
                        self.options.fence(f"building {name}")
                    postgres_schema.restore_entries(self.target, self.dump(), self.workdir, label, entries, jobs=1,
                                                    tolerate_existing=self.options.resumed, options=options)

                return index_pool.submit(build)

            started_fks: set[str] = set()

            def copy(u: postgres_units.Unit) -> Any:
                if self.options.fence is not None:  # a run that lost its deploy lock copies nothing more
                    self.options.fence(f"copying {u.table.key}")
                if postgres_smallcopy.is_small(u):
                    return postgres_smallcopy.copy_small(u, sessions, fresh=fresh)
                return postgres_copy.copy_unit(u, self.source, self.target, snapshot)

            # What each future is: a COPY unit, a batch of tables whose indexes are being built, or of keys.
            pending: dict[cf.Future[Any], postgres_units.Unit | _IndexBatch | _KeyBatch] = {
                pool.submit(copy, u): u for u in units
            }
            for key in done:
                if key not in indexed:  # a resumed run: rows in, indexes not (all) built
                    rows_in(key)
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
                            finished_tables = index_built(what)
                            indexed.extend(finished_tables)
                            saver.soon()
                            for key in finished_tables:
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
                            rows_in(key)
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


def first_share(keys: list[postgres_schema.ForeignKey], parts: int) -> list[postgres_schema.ForeignKey]:
    """The first of `parts` shares of `keys`, about equal, whose tables none of the other shares touch: keys
    linked by a shared table (directly or through other keys) stay in one share, in their order."""
    if parts <= 1 or len(keys) <= 1:
        return keys
    group: dict[str, str] = {}  # union-find over tables

    def root(table: str) -> str:
        while group.setdefault(table, table) != table:
            table = group[table]
        return table

    for fk in keys:
        group[root(fk.table)] = root(fk.referenced)
    by_group: dict[str, list[postgres_schema.ForeignKey]] = {}
    for fk in keys:
        by_group.setdefault(root(fk.table), []).append(fk)
    share: list[postgres_schema.ForeignKey] = []
    for members in by_group.values():
        if share and len(share) + len(members) > len(keys) / parts:
            continue
        share.extend(members)
    return share


@dataclass(frozen=True)
class _IndexBatch:
    """Tables whose indexes and keys one pg_restore builds; or, for a big table, some of its entries (its keys,
    then each index alone) and the entries to queue once these are built."""

    keys: tuple[str, ...]
    entries: tuple[str, ...] | None = None  # None: every entry of every table in `keys`
    then: tuple[str, ...] = ()


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
