"""Small tables copied in-process over long-lived connections: one source and one target session per worker.

A psql | psql pipe costs two processes, two connections and a snapshot import per table (0.4-0.5 s on a loaded
machine, against a few milliseconds of rows for a small table): over the ~500 tables of a schema-rich database
that fixed cost is the whole migration. Here each worker thread keeps one source connection inside a REPEATABLE
READ transaction on the exported snapshot (every table it copies reads the same consistent database) and one
target connection; a table is `COPY TO STDOUT` on the one streamed into `COPY FROM STDIN` on the other through
psycopg, in the same binary (or text) format and with the same guarantees as the pipe: TRUNCATE and COPY FREEZE
in one target transaction, so a redo never doubles a row. Both connections come from `PgEndpoint.connect()`: the
server watchdog wakes them if a server freezes. Big tables keep the psql pipe (no Python in the byte path).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from billingops import redact
from billingops.errors import ExternalError
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.units import (  # the pipe's own statement builders: one COPY syntax
    Unit,
    UnitResult,
    column_list,
    copy_format,
    source_of,
)

# Whole tables up to this size go through a worker's sessions; bigger ones through a psql pipe.
SMALL_TABLE_BYTES = 8 * 1024 * 1024


def is_small(unit: Unit) -> bool:
    return not unit.split and unit.table.bytes <= SMALL_TABLE_BYTES


class CopySessions:
    """Per worker thread, a source session on the snapshot and a target session, opened on first use."""

    def __init__(self, source: PgEndpoint, target: PgEndpoint, snapshot: str) -> None:
        self.source, self.target, self.snapshot = source, target, snapshot
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Any] = []

    def __enter__(self) -> CopySessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pair(self) -> tuple[Any, Any]:
        pair = getattr(self._local, "pair", None)
        if pair is None:
            src = self.source.connect(read_only=True, autocommit=True)
            try:
                src.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                src.execute(f"SET TRANSACTION SNAPSHOT '{self.snapshot}'")
                # The bytes travel as the source sends them: the target reads them in the same encoding.
                encoding = src.execute("SHOW client_encoding").fetchone()[0]
                dst = self.target.connect(autocommit=True)
            except BaseException:
                src.close()
                raise
            dst.execute("SELECT set_config('client_encoding', %s, false)", (encoding,))
            dst.execute("SET synchronous_commit = off")  # as the pipe's TARGET_OPTIONS: a redo covers a crash
            pair = self._local.pair = (src, dst)
            with self._lock:
                self._open.extend(pair)
        return pair

    def discard(self) -> None:
        """Drop this worker's sessions after an error: their state is unknown; the next table opens new ones."""
        pair = getattr(self._local, "pair", None)
        self._local.pair = None
        for conn in pair or ():
            _close(conn)

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            _close(conn)


def copy_small(unit: Unit, sessions: CopySessions, *, fresh: bool = False) -> UnitResult:
    """Copy one whole table through this worker's sessions; returns the row count the target reported.

    `fresh`: the table is known empty (created by this run's pre-data restore, nothing copied into it yet): the
    COPY alone, one statement and its own transaction, all rows or none. Otherwise (a resumed run) the table
    is emptied in the COPY's transaction, which then writes its rows frozen. On hundreds of small tables the
    TRUNCATE and the transaction's BEGIN/COMMIT round trips were most of a table's time, and FREEZE saves
    nothing worth them on a few pages."""
    import psycopg

    started = time.monotonic()
    table = unit.table.qualified()
    fmt = copy_format(unit.table)
    try:
        src, dst = sessions.pair()
        with (
            contextlib.nullcontext() if fresh else dst.transaction(),
            src.cursor() as reader,
            dst.cursor() as writer,
        ):
            if not fresh:
                writer.execute(f"TRUNCATE ONLY {table}")
            freeze = "" if fresh else ", FREEZE"
            with writer.copy(f"COPY {table}{column_list(unit.table)} FROM STDIN (FORMAT {fmt}{freeze})") as sink:
                with reader.copy(f"COPY {source_of(unit)} TO STDOUT (FORMAT {fmt})") as feed:
                    for chunk in feed:
                        sink.write(chunk)
            rows = max(0, writer.rowcount)
    except psycopg.Error as exc:
        sessions.discard()
        raise ExternalError(
            f"Copying {unit.name} failed: {redact.redact(_message(exc))}",
            hint="Fix the cause shown, then rerun with --resume: finished tables are not copied again.",
        ) from None
    except BaseException:
        sessions.discard()
        raise
    return UnitResult(unit, rows, time.monotonic() - started)


def _message(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    detail = getattr(diag, "message_detail", None)
    return f"{primary} ({detail})" if detail else primary


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001, S110  # closing a broken session: nothing left to save  # nosec B110
        pass
