"""Rows from source to target: binary COPY between two psql processes joined by an OS pipe, under one
snapshot.

Python only starts the pipes and watches them: the bytes go source server -> psql -> pipe -> psql -> target
server. Every worker imports the snapshot exported by `SnapshotHolder`, so parallel workers and split ranges
of one table read one consistent database. Tables larger than the split size are cut into ctid block ranges
(TID range scans, PostgreSQL 14+) that run in parallel.
"""

from __future__ import annotations

import logging
import math
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from billingops import process, redact
from billingops.errors import ExternalError
from billingops.transfer import tunables
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import TableInfo, quote_ident

log = logging.getLogger(__name__)

MIN_SPLIT_BYTES = 64 * 1024 * 1024
UNIT_TIMEOUT = 12 * 3600
# Commits on the target need not wait for the disk: a crash mid-copy is redone from the journal anyway.
TARGET_OPTIONS = "-c synchronous_commit=off"


@dataclass(frozen=True)
class Unit:
    """One COPY pipe: a whole table, or one block range of a split table."""

    table: TableInfo
    index: int = 0
    count: int = 1
    first_block: int | None = None
    end_block: int | None = None  # exclusive; None = to the end of the table

    @property
    def split(self) -> bool:
        return self.count > 1

    @property
    def name(self) -> str:
        return self.table.key if not self.split else f"{self.table.key} [{self.index + 1}/{self.count}]"

    def where(self) -> str:
        clauses = []
        if self.first_block is not None and self.first_block > 0:
            clauses.append(f"ctid >= '({self.first_block},0)'::tid")
        if self.end_block is not None:
            clauses.append(f"ctid < '({self.end_block},0)'::tid")
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def select(self) -> str:
        cols = ", ".join(quote_ident(c) for c in self.table.columns)  # empty for a zero-column table: SELECT FROM
        return f"SELECT {cols} FROM ONLY {self.table.qualified()}{self.where()}"  # nosec B608  # noqa: S608  # quoted identifiers


@dataclass
class UnitResult:
    unit: Unit
    rows: int
    seconds: float


def split_bytes_for(tables: list[TableInfo], jobs: int, override_mb: float | None = None) -> int:
    """Split size: only a table far bigger than one worker's share of the copy is cut into ranges.

    A whole table is copied with COPY FREEZE (truncated in the same transaction); a range cannot be. Frozen
    pages need no hint-bit pass on their first read and are all-visible, so its index builds and foreign
    key checks (index-only merge joins) cost far less: measured on 10M rows, two ranges of the biggest table
    made the whole migration slower than one pipe (22.4 s / 20.5 s against 19.9 s / 16.9 s).
    """
    if override_mb is not None:
        return max(1, int(override_mb * 1024 * 1024))
    total = sum(t.bytes for t in tables)
    return max(MIN_SPLIT_BYTES, int(1.5 * total / max(1, jobs)))


def copy_order(tables: list[TableInfo], references: dict[str, set[str]]) -> list[str]:
    """Table keys, biggest first, each preceded by the tables its foreign keys reference.

    The biggest table's indexes and foreign keys are the tail of a migration: its rows should be in early,
    and the tables it references copied and indexed before it, so its keys can be validated while the small
    tables still copy.
    """
    order: list[str] = []
    placed: set[str] = set()
    known = {t.key for t in tables}

    def place(key: str) -> None:
        if key in placed or key not in known:
            return
        placed.add(key)  # before the recursion: foreign key cycles end here
        for referenced in sorted(references.get(key, ())):
            place(referenced)
        order.append(key)

    for table in sorted(tables, key=lambda t: t.bytes, reverse=True):
        place(table.key)
    return order


def plan_units(tables: list[TableInfo], *, split_bytes: int, order: list[str] | None = None) -> list[Unit]:
    """All units, biggest first so the long ones start early (longest-processing-time scheduling), or
    table by table in `order`."""
    units: list[Unit] = []
    for table in tables:
        parts = math.ceil(table.bytes / split_bytes) if table.bytes > split_bytes and table.pages > 1 else 1
        parts = min(parts, table.pages) if parts > 1 else 1
        if parts == 1:
            units.append(Unit(table))
            continue
        step = math.ceil(table.pages / parts)
        bounds = list(range(0, table.pages, step))
        for index, first in enumerate(bounds):
            last = index == len(bounds) - 1
            # The last range is open-ended: rows the snapshot sees never sit past the table's end, but the
            # size was read a moment after the snapshot.
            units.append(Unit(table, index, len(bounds), first, None if last else first + step))
    if order is None:
        units.sort(key=lambda u: u.table.bytes / u.count, reverse=True)
    else:
        rank = {key: i for i, key in enumerate(order)}
        units.sort(key=lambda u: (rank.get(u.table.key, len(rank)), u.index))
    return units


class SnapshotHolder:
    """A source transaction that exports its snapshot and stays open while workers import it."""

    def __init__(self, source: PgEndpoint) -> None:
        self.conn = source.connect(read_only=True, autocommit=True)
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self.snapshot: str = self.conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        log.debug("exported snapshot %s", self.snapshot)

    def close(self) -> None:
        try:
            self.conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001  # a read-only snapshot: nothing to lose; keep the real error visible
            log.debug("closing the snapshot transaction failed: %s", exc)
        finally:
            self.conn.close()


def copy_unit(
    unit: Unit,
    source: PgEndpoint,
    target: PgEndpoint,
    snapshot: str,
    *,
    register: Callable[[list[subprocess.Popen[bytes]]], None] | None = None,
) -> UnitResult:
    """Run one source psql | target psql pipe; returns the row count the target reported."""
    psql = process.which("psql", hint="Install the PostgreSQL 15 client tools (postgresql-client-15).")
    table = unit.table.qualified()
    fmt = _format(unit.table)
    reader = [
        psql,
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "-c",
        f"SET TRANSACTION SNAPSHOT '{snapshot}'",
        "-c",
        f"COPY {_source_of(unit)} TO STDOUT (FORMAT {fmt})",
        "-c",
        "COMMIT",
    ]
    # A whole table is truncated in the same transaction as its COPY: a redo after an interruption can never
    # duplicate rows, and FREEZE writes the rows already frozen (no later vacuum rewrite of every page).
    writer = [psql, "-X", "-v", "ON_ERROR_STOP=1", "-c", "BEGIN"]
    if not unit.split:
        writer += ["-c", f"TRUNCATE ONLY {table}"]
    writer += [
        "-c",
        f"COPY {table}{_column_list(unit.table)} FROM STDIN (FORMAT {fmt}{'' if unit.split else ', FREEZE'})",
        "-c",
        "COMMIT",
    ]
    started = time.monotonic()
    src = subprocess.Popen(
        reader,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=source.child_env(read_only=True),
    )
    try:
        dst = subprocess.Popen(
            writer,
            stdin=src.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=target.child_env(extra_options=TARGET_OPTIONS),
        )
    except BaseException:
        src.kill()
        raise
    assert src.stdout is not None  # nosec B101  # type narrowing for mypy; the Popen above has stdout=PIPE
    src.stdout.close()  # the writer holds the pipe now; the reader must see SIGPIPE if the writer dies
    if register:
        register([src, dst])
    err_src = _drain(src.stderr)
    out_dst, err_dst_thread = _drain(dst.stdout), _drain(dst.stderr)
    stalled = _watch(src, dst, started)
    if stalled is not None:
        raise ExternalError(
            f"Copying {unit.name} stopped moving data: {stalled}; the source ({source.shown}) or the target "
            f"({target.shown}) PostgreSQL stopped answering.",
            hint="Check both servers (and any tunnel) are up, then rerun with --resume: finished tables are kept.",
        )
    for thread in (err_src, out_dst, err_dst_thread):
        thread.join(timeout=10)
    out, err_dst = out_dst.text.encode(), err_dst_thread.text.encode()
    if src.returncode != 0 or dst.returncode != 0:
        raise ExternalError(
            f"Copying {unit.name} failed (source psql exit {src.returncode}, target psql exit "
            f"{dst.returncode}): "
            f"{redact.redact(psql_message(err_src.text + err_dst.decode(errors='replace')))}",
            hint="Fix the cause shown, then rerun with --resume: finished tables are not copied again.",
        )
    rows = _copied_rows(out.decode(errors="replace"))
    return UnitResult(unit, rows, time.monotonic() - started)


def _watch(src: subprocess.Popen[bytes], dst: subprocess.Popen[bytes], started: float) -> str | None:
    """Wait for both ends of a pipe; kill them and say why when no byte moved for the stall time
    (BILLINGOPS_COPY_STALL_SECONDS).

    A server that stops answering without closing its connection (a partition, a frozen host) would block
    a COPY for ever: TCP keepalives do not fire while the peer's kernel still acknowledges. The reader's
    bytes written (/proc/PID/io) show whether data still flows."""
    stall_seconds = tunables.copy_stall_seconds()
    last_bytes, last_change = -1, time.monotonic()
    while dst.poll() is None or src.poll() is None:
        now = time.monotonic()
        written, read = _proc_io(src.pid, "wchar"), _proc_io(dst.pid, "rchar")
        # Without /proc (or once a process has exited) progress is unknown: never call that a stall.
        moved = -2 if written is None or read is None else written + read
        if moved != last_bytes or moved == -2:
            last_bytes, last_change = moved, now
        reason = None
        if now - last_change > stall_seconds:
            reason = f"no data for {stall_seconds:.0f} s"
        elif now - started > UNIT_TIMEOUT:
            reason = f"not finished within {UNIT_TIMEOUT // 3600} h"
        if reason:
            src.kill()
            dst.kill()
            src.wait(timeout=30)
            dst.wait(timeout=30)
            return reason
        # Wake as soon as the pipe ends (not at the next tick): a table with few rows is done in a few tens
        # of milliseconds, and a migration of many small tables is mostly these waits otherwise.
        try:
            (dst if src.poll() is not None else src).wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
    return None


def _proc_io(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass  # the process just ended, or no /proc: the exit is seen by poll()
    return None


def _source_of(unit: Unit) -> str:
    """`table (cols)` for a whole table: COPY reads it directly (a third less source CPU than COPY
    (SELECT ...),
    which goes through the executor); a ctid range needs the query form."""
    if not unit.split:
        return f"{unit.table.qualified()}{_column_list(unit.table)}"
    return f"({unit.select()})"


def _column_list(table: TableInfo) -> str:
    """` (cols)`, or nothing for a table without copied columns: COPY then carries its (empty) rows, which
    `()` would refuse as a syntax error. Without a list COPY takes every column but the generated ones,
    which are exactly the copied ones."""
    if not table.columns:
        return ""
    return " (" + ", ".join(quote_ident(c) for c in table.columns) + ")"


def _format(table: TableInfo) -> str:
    """binary, or text where a column's type cannot travel in binary (postgres_copyformat)."""
    return "text" if table.text_copy else "binary"


def truncate(target: PgEndpoint, tables: list[TableInfo]) -> None:
    """Empty partly copied split tables before their ranges are redone."""
    if not tables:
        return
    with target.connect() as conn:
        conn.execute("TRUNCATE ONLY " + ", ".join(t.qualified() for t in tables))


class _Drain(threading.Thread):
    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.text = ""

    def run(self) -> None:
        self.text = self.stream.read().decode(errors="replace")


def _drain(stream: Any) -> _Drain:
    thread = _Drain(stream)
    thread.start()
    return thread


def _copied_rows(output: str) -> int:
    for line in output.splitlines():
        if line.startswith("COPY "):
            return int(line.split()[1])
    return 0


def psql_message(text: str) -> str:
    """The error psql printed, without the statement echo (`LINE 1: ...`) and the caret line under it.

    psql writes `ERROR:  message`, then `LINE n: <statement>` and a line holding `^` under the position: the
    last lines of its stderr are the least useful. Keep the severity lines and their DETAIL/HINT/CONTEXT."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    kept = [line for line in lines if _SEVERITY.match(line)]
    if not kept:
        kept = [line for line in lines if not _ECHO.match(line) and line.strip("^ ")]
    return " ".join(kept[-4:]) or "(no output)"


_SEVERITY = re.compile(r"^(psql:[^ ]*: )?(ERROR|FATAL|PANIC|DETAIL|HINT|CONTEXT|error):")
_ECHO = re.compile(r"^LINE \d+: ")
