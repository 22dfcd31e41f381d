"""Rows from source to target: binary COPY between two psql processes joined by an OS pipe, under one
snapshot.

Python only starts the pipes and watches them: the bytes go source server -> psql -> pipe -> psql -> target
server. Every worker imports the snapshot exported by `SnapshotHolder`, so parallel workers and split ranges
of one table read one consistent database. What each pipe copies (a table or a ctid block range) and in
which order is units.py's part.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from billingops import process, redact
from billingops.errors import ExternalError
from billingops.transfer import tunables
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import TableInfo
from billingops.transfer.postgres.units import Unit, UnitResult, column_list, copy_format, source_of

log = logging.getLogger(__name__)

UNIT_TIMEOUT = 12 * 3600
# Commits on the target need not wait for the disk: a crash mid-copy is redone from the journal anyway.
TARGET_OPTIONS = "-c synchronous_commit=off"


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
    fmt = copy_format(unit.table)
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
        f"COPY {source_of(unit)} TO STDOUT (FORMAT {fmt})",
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
        f"COPY {table}{column_list(unit.table)} FROM STDIN (FORMAT {fmt}{'' if unit.split else ', FREEZE'})",
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
