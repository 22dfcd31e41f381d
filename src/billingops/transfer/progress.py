"""Live progress for migrate-cloud: bars on a TTY (the edge passes them in), JSON lines on stderr with --json,
log lines otherwise.

Per table: rows and MB/s; per Redis database: keys/s; overall: an ETA. The byte path never passes through this
process, so PostgreSQL progress is read from the target's pg_stat_progress_copy (rows and bytes per running
COPY).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from billingops.ui import UI

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


class Bars(Protocol):
    """Progress bars (rich.progress.Progress meets it; the command builds them on a terminal)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def add_task(self, description: str, *, total: float | None, **fields: Any) -> Any: ...

    def update(self, task_id: Any, **fields: Any) -> None: ...


class Reporter:
    def __init__(self, ui: UI, bars: Bars | None = None) -> None:
        self.ui = ui
        self.mode = "json" if ui.json_mode else ("rich" if bars is not None else "plain")
        self._lock = threading.Lock()
        self._bars = bars
        self._progress: Bars | None = None
        self._tasks: dict[str, Any] = {}
        self._overall: Any = None
        self._done_bytes: dict[str, float] = {}
        self._live_bytes: dict[str, float] = {}

    # -- lifecycle -----------------------------------------------------------------------------------
    def __enter__(self) -> Reporter:
        if self.mode == "rich" and self._bars is not None:
            self._progress = self._bars
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def event(self, kind: str, **fields: Any) -> None:
        """One progress event; in JSON mode one line on stderr."""
        if self.mode == "json":
            line = json.dumps({"event": kind, "ts": round(time.time(), 3), **fields}, default=str)
            with self._lock:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()

    def phase(self, name: str, message: str) -> None:
        self.event("phase", phase=name, message=message)
        if self.mode != "json":
            self.ui.say(message)

    # -- PostgreSQL tables ---------------------------------------------------------------------------
    def tables_planned(self, sizes: dict[str, int]) -> None:
        if self._progress is not None:
            self._overall = self._progress.add_task(
                "postgres: all tables", total=max(1, sum(sizes.values())), count=""
            )
        self._sizes = sizes

    def unit_done(self, table: str, share_bytes: float, rows: int, table_done: bool, seconds: float) -> None:
        with self._lock:
            self._done_bytes[table] = self._done_bytes.get(table, 0.0) + share_bytes
            self._live_bytes.pop(table, None)
        self.event(
            "table_done" if table_done else "range_done", table=table, rows=rows, seconds=round(seconds, 2)
        )
        if self.mode == "plain" and table_done:
            self.ui.say(f"copied {table}")
        self._refresh(table, rows_done=rows, finished=table_done)

    def live(self, per_table: dict[str, tuple[int, int]]) -> None:
        """{table: (rows, bytes)} of the COPYs running now, from pg_stat_progress_copy."""
        with self._lock:
            self._live_bytes = {t: float(b) for t, (_, b) in per_table.items()}
        for table, (rows, nbytes) in per_table.items():
            self.event("table_progress", table=table, rows=rows, bytes=nbytes)
            self._refresh(table, rows_done=rows, finished=False)

    def _refresh(self, table: str, rows_done: int | None, finished: bool) -> None:
        if self._progress is None:
            return
        size = self._sizes.get(table, 0)
        with self._lock:
            done = min(size, self._done_bytes.get(table, 0.0) + self._live_bytes.get(table, 0.0))
            total_done = sum(
                min(self._sizes.get(t, 0), self._done_bytes.get(t, 0.0) + self._live_bytes.get(t, 0.0))
                for t in self._sizes
            )
        if table not in self._tasks:
            self._tasks[table] = self._progress.add_task(table, total=max(1, size), count="")
        fields: dict[str, Any] = {"count": f"{rows_done:,} rows"} if rows_done is not None else {}
        self._progress.update(self._tasks[table], completed=size if finished else done, **fields)
        if self._overall is not None:
            self._progress.update(self._overall, completed=total_done)

    # -- Redis ---------------------------------------------------------------------------------------
    def redis(self, update: dict[str, Any]) -> None:
        """The Redis copier's {"db", "keys", "total", "keys_per_s"} events."""
        self.event("redis_progress", **update)
        name = f"redis db {update.get('db')}" + (" verify" if update.get("phase") == "verify" else "")
        if self._progress is not None:
            if name not in self._tasks:
                self._tasks[name] = self._progress.add_task(
                    name, total=max(1, update.get("total") or 1), count=""
                )
            self._progress.update(
                self._tasks[name],
                completed=update.get("keys", 0),
                total=max(1, update.get("total") or 1),
                count=f"{update.get('keys', 0):,} keys, {update.get('keys_per_s', 0):,.0f}/s",
            )
        elif self.mode == "plain":
            self.ui.say(
                f"{name}: {update.get('keys', 0):,}/{update.get('total', 0):,} keys "
                f"({update.get('keys_per_s', 0):,.0f} keys/s)"
            )


class CopyMonitor:
    """Polls pg_stat_progress_copy on the target while the COPY pipes run, feeding Reporter.live()."""

    def __init__(self, target_conn: Any, names: dict[int, str], reporter: Reporter) -> None:
        self.conn, self.names, self.reporter = target_conn, names, reporter
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CopyMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.wait(POLL_SECONDS):
            try:
                rows = self.conn.execute(
                    "SELECT relid::bigint, sum(tuples_processed)::bigint, "
                    "sum(bytes_processed)::bigint FROM pg_stat_progress_copy "
                    "WHERE datname = current_database() GROUP BY relid"
                ).fetchall()
            except psycopg.Error as exc:  # progress is best effort: never fail a copy because a poll failed
                log.debug("progress poll failed: %s", exc)
                return
            live = {self.names[r[0]]: (int(r[1]), int(r[2])) for r in rows if r[0] in self.names}
            if live:
                self.reporter.live(live)
