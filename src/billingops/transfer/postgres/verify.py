"""Prove the copy: per-table row counts, and (`full`) an order-independent checksum of every row on both
servers.

The checksum of a table is the sum of a hash of each of its rows: on PostgreSQL 14+ a row hash from each
column type's own hash function, with the text form only for columns whose hash is not faithful (the
choices and why: postgres_checksum); on older servers hashtextextended(row::text, 0). Text forms are fixed
per session (TimeZone, DateStyle... set in postgres_conn). A sum, not an XOR, so duplicated rows do not
cancel out; split into ctid block ranges on each server (a sum over ranges is the sum over the table),
computed on both servers at once with `jobs` sessions each. The source side reads inside the copy's snapshot
when it is still open. Sequences and large objects are compared too. Anything not computed counts as a
mismatch, never as a match.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import psycopg

from billingops.errors import BillingOpsError
from billingops.transfer.postgres import checksum as postgres_checksum
from billingops.transfer.postgres import objects as postgres_objects
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import TableInfo, quote_ident

log = logging.getLogger(__name__)

RANGE_BLOCKS = 16384  # 128 MiB of heap per checksum query
# Whole tables up to BATCH_PAGES blocks (1 MiB) are checked up to BATCH_TABLES in one query: over hundreds of
# small tables a query each was mostly round trips and per-query overhead.
BATCH_PAGES = 128
BATCH_TABLES = 50

# One checksum query's work: a table and its block range [first, end) (None, None: the whole table)
_Range: TypeAlias = tuple[TableInfo, int | None, int | None]


@dataclass
class TableCheck:
    table: str
    source_rows: int | None = None
    target_rows: int | None = None
    source_sum: int | None = None
    target_sum: int | None = None
    error: str | None = None

    def ok(self, mode: str) -> bool:
        if self.error or self.source_rows is None or self.target_rows is None:
            return False
        if self.source_rows != self.target_rows:
            return False
        return mode == "counts" or (self.source_sum is not None and self.source_sum == self.target_sum)

    def to_dict(self, mode: str) -> dict[str, Any]:
        checksum = None if mode == "counts" else ("match" if self.ok(mode) else "MISMATCH")
        return {
            "table": self.table,
            "source_rows": self.source_rows,
            "target_rows": self.target_rows,
            "checksum": checksum,
            "ok": self.ok(mode),
            **({"error": self.error} if self.error else {}),
        }


@dataclass
class VerifyReport:
    mode: str
    tables: list[TableCheck] = field(default_factory=list)
    sequence_mismatches: list[str] = field(default_factory=list)
    sequences: int = 0
    large_objects: int = 0
    large_object_mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            all(t.ok(self.mode) for t in self.tables)
            and not self.sequence_mismatches
            and not self.large_object_mismatches
        )

    @property
    def failed_tables(self) -> list[str]:
        return [t.table for t in self.tables if not t.ok(self.mode)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "ok": self.ok,
            "tables": [t.to_dict(self.mode) for t in self.tables],
            "failed_tables": self.failed_tables,
            "sequences": self.sequences,
            "sequence_mismatches": self.sequence_mismatches,
            "large_objects": self.large_objects,
            "large_object_mismatches": self.large_object_mismatches,
            "seconds": round(self.seconds, 2),
        }


def verify(
    source: PgEndpoint,
    target: PgEndpoint,
    tables: list[TableInfo],
    *,
    mode: str,
    jobs: int,
    snapshot: str | None = None,
) -> VerifyReport:
    started = time.monotonic()
    report = VerifyReport(mode)
    checks = {t.key: TableCheck(t.key) for t in tables}
    report.tables = [checks[t.key] for t in tables]
    lock = threading.Lock()
    threads = []
    hashing = _Hashing.read(source, target, tables) if mode == "full" else _Hashing(False, {})
    for side, endpoint in (("source", source), ("target", target)):
        with endpoint.connect(read_only=True) as conn:
            pages = _pages(conn, tables)
        work: queue.Queue[_Range] = queue.Queue()
        for table in sorted(tables, key=lambda t: pages.get(t.key) or 0, reverse=True):
            for first, end in _ranges(pages.get(table.key)):
                work.put((table, first, end))
        partial = {t.key: [0, 0, 0] for t in tables}  # rows, sum, ranges done
        expected = {t.key: len(_ranges(pages.get(t.key))) for t in tables}
        for _ in range(max(1, jobs)):
            thread = threading.Thread(
                target=_worker,
                daemon=True,
                args=(
                    side,
                    endpoint,
                    snapshot if side == "source" else None,
                    mode,
                    hashing,
                    work,
                    partial,
                    expected,
                    checks,
                    pages,
                    lock,
                ),
            )
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join()
    _compare_objects(source, target, report)
    report.seconds = time.monotonic() - started
    return report


def _pages(conn: Any, tables: list[TableInfo]) -> dict[str, int | None]:
    """Current heap size in blocks per table on this server; None where the table is missing. One query for
    every table (one per table was a round trip each, per side, over hundreds of tables)."""
    names = [t.qualified() for t in tables]
    rows = conn.execute(
        "SELECT pg_relation_size(to_regclass(q)) / current_setting('block_size')::int "
        "FROM unnest(%s::text[]) WITH ORDINALITY AS u(q, i) ORDER BY i",
        (names,),
    ).fetchall()
    return {t.key: None if row[0] is None else int(row[0]) for t, row in zip(tables, rows, strict=True)}


@dataclass(frozen=True)
class _Hashing:
    """How `full` hashes rows, the same on both servers: decided once, from the source's catalog."""

    row_hash: bool
    columns: dict[str, list[str]]

    @classmethod
    def read(cls, source: PgEndpoint, target: PgEndpoint, tables: list[TableInfo]) -> _Hashing:
        try:
            with source.connect(read_only=True) as src, target.connect(read_only=True) as dst:
                row_hash = postgres_checksum.row_hash_supported(src, dst)
                if not row_hash:
                    log.info("a server before PostgreSQL 14: hashing rows by their text form")
                    return cls(False, {})
                return cls(True, postgres_checksum.select_lists(src, tables))
        except (BillingOpsError, psycopg.Error) as exc:  # each worker meets and reports the unreadable side
            log.debug("reading column types for verification: %s", exc)
            return cls(False, {})

    def select_list(self, table: TableInfo) -> str:
        if self.row_hash:
            return postgres_checksum.aliased(self.columns[table.key])
        return postgres_checksum.aliased([quote_ident(c) for c in table.columns])


def _ranges(pages: int | None) -> list[tuple[int | None, int | None]]:
    if pages is None or pages <= RANGE_BLOCKS:
        return [(None, None)]
    count = math.ceil(pages / RANGE_BLOCKS)
    return [(i * RANGE_BLOCKS, None if i == count - 1 else (i + 1) * RANGE_BLOCKS) for i in range(count)]


def _query(table: TableInfo, mode: str, hashing: _Hashing, first: int | None, end: int | None) -> str:
    clauses = []
    if first:
        clauses.append(f"ctid >= '({first},0)'::tid")
    if end is not None:
        clauses.append(f"ctid < '({end},0)'::tid")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    if mode == "counts":
        return f"SELECT count(*), 0 FROM ONLY {table.qualified()}{where}"  # nosec B608  # noqa: S608  # quoted identifiers
    return (
        f"SELECT count(*), {postgres_checksum.sum_expression(hashing.row_hash)} "  # nosec B608  # noqa: S608  # quoted identifiers
        f"FROM (SELECT {hashing.select_list(table)} FROM ONLY {table.qualified()}{where}) {postgres_checksum.ROW_ALIAS}"
    )


def _batch_query(items: list[_Range], mode: str, hashing: _Hashing) -> str:
    """One query for several ranges: each one's (position, count, sum), in any order."""
    return " UNION ALL ".join(
        f"SELECT {i}, * FROM ({_query(table, mode, hashing, first, end)}) AS r{i}"  # nosec B608  # noqa: S608  # quoted identifiers
        for i, (table, first, end) in enumerate(items)
    )


def _batchable(item: _Range, pages: dict[str, int | None]) -> bool:
    table, first, end = item
    return first is None and end is None and (pages.get(table.key) or 0) <= BATCH_PAGES


def _take(work: queue.Queue[_Range], pages: dict[str, int | None]) -> list[_Range]:
    """The next range, or the next small whole tables up to BATCH_TABLES: the queue holds the biggest first,
    so once a small table comes, only small ones follow."""
    batch = [work.get_nowait()]
    while _batchable(batch[-1], pages) and len(batch) < BATCH_TABLES:
        try:
            batch.append(work.get_nowait())
        except queue.Empty:
            break
    return batch


def _worker(
    side: str,
    endpoint: PgEndpoint,
    snapshot: str | None,
    mode: str,
    hashing: _Hashing,
    work: queue.Queue[_Range],
    partial: dict[str, list[int]],
    expected: dict[str, int],
    checks: dict[str, TableCheck],
    pages: dict[str, int | None],
    lock: threading.Lock,
) -> None:
    conn = None
    try:
        conn = endpoint.connect(read_only=True)
        # Every range query costs enough to trigger JIT compilation (per query, 0.1-0.5 s of CPU) that a
        # one-pass scan never earns back; the result is the same with or without it.
        conn.execute("SET jit = off")
        _begin(conn, snapshot)
    except (BillingOpsError, psycopg.Error) as exc:  # reported per table: an unreadable side never matches
        _fail_all(side, work, checks, lock, str(exc))
        return

    def record(table: TableInfo, rows: int, total: int) -> None:
        with lock:
            acc = partial[table.key]
            acc[0] += int(rows)
            acc[1] += int(total)
            acc[2] += 1
            if acc[2] == expected[table.key]:
                setattr(checks[table.key], f"{side}_rows", acc[0])
                setattr(checks[table.key], f"{side}_sum", acc[1])

    def measure(items: list[_Range]) -> None:
        """Query `items` at once; when that fails, each alone, so that the error lands on its own table."""
        try:
            if len(items) == 1:
                results = [(0, *conn.execute(_query(items[0][0], mode, hashing, *items[0][1:])).fetchone())]
            else:
                results = conn.execute(_batch_query(items, mode, hashing)).fetchall()
        except psycopg.Error as exc:  # record it on the table, keep verifying the others
            conn.execute("ROLLBACK")
            _begin(conn, snapshot)
            if len(items) > 1:
                for item in items:
                    measure([item])
                return
            with lock:
                checks[items[0][0].key].error = f"{side}: {str(exc).strip().splitlines()[0]}"
            return
        for i, rows, total in results:
            record(items[i][0], rows, total)

    try:
        while True:
            try:
                batch = _take(work, pages)
            except queue.Empty:
                return
            for table, _, _ in batch:
                if pages.get(table.key) is None:
                    with lock:
                        checks[table.key].error = f"table missing on the {side}"
            batch = [item for item in batch if pages.get(item[0].key) is not None]
            if batch:
                measure(batch)
    finally:
        try:
            conn.execute("ROLLBACK")
            conn.close()
        except psycopg.Error as exc:  # closing after a broken connection: nothing left to do
            log.debug("closing a verification session: %s", exc)


def _begin(conn: Any, snapshot: str | None) -> None:
    """A read-only transaction, inside the copy's snapshot when it is still open (the source side)."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    if snapshot:
        conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")


def _fail_all(
    side: str, work: queue.Queue[_Range], checks: dict[str, TableCheck], lock: threading.Lock, why: str
) -> None:
    while True:
        try:
            table, _, _ = work.get_nowait()
        except queue.Empty:
            return
        with lock:
            checks[table.key].error = f"{side} not readable: {why.strip().splitlines()[0] if why else why}"


def _compare_objects(source: PgEndpoint, target: PgEndpoint, report: VerifyReport) -> None:
    with source.connect(read_only=True) as s, target.connect(read_only=True) as t:
        src_seq, dst_seq = postgres_objects.read_sequences(s), postgres_objects.read_sequences(t)
        report.sequences = len(src_seq)
        for name, value in src_seq.items():
            if dst_seq.get(name) != value:
                report.sequence_mismatches.append(
                    f"{name}: source {value[0]}, target {dst_seq[name][0] if name in dst_seq else 'missing'}"
                )
        src_lo = postgres_objects.large_object_digests(s)
        dst_lo = (
            postgres_objects.large_object_digests(t)
            if report.mode == "full"
            else {oid: "" for oid in postgres_objects.large_object_ids(t)}
        )
        if report.mode == "counts":
            src_lo = {oid: "" for oid in src_lo}
        report.large_objects = len(src_lo)
        for oid, digest in src_lo.items():
            if oid not in dst_lo:
                report.large_object_mismatches.append(f"large object {oid}: missing on the target")
            elif dst_lo[oid] != digest:
                report.large_object_mismatches.append(f"large object {oid}: content differs")
        # Owner, privileges and comment: cheap, so compared in both modes.
        src_meta, dst_meta = postgres_objects.large_object_metadata(s), postgres_objects.large_object_metadata(t)
        for oid, meta in src_meta.items():
            theirs = dst_meta.get(oid)
            if theirs is None:
                continue  # reported missing above
            for label, mine, other in zip(("owner", "privileges", "comment"), meta, theirs, strict=True):
                if mine != other:
                    report.large_object_mismatches.append(
                        f"large object {oid}: different {label} (source {mine!r}, target {other!r})"
                    )
