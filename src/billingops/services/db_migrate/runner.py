"""Apply migrations with psycopg 3: one transaction per file, a ledger table, and an advisory lock.

The lock is a session-level `pg_advisory_lock` key held for the whole run, so two runners (two engineers,
or a deploy and a manual run) never interleave: the second waits up to `lock_wait` seconds, naming the
holder, then refuses. Each file and its ledger row commit together, so a failed file leaves no trace and
the files before it stay applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from billingops.errors import Refused, StepFailed
from billingops.services.db_migrate.files import Migration

log = logging.getLogger(__name__)

LEDGER = "billingops_schema_migrations"
# A fixed key (the first 8 bytes of sha256("billingops_schema_migrations"), signed): every billingops
# version and every runner of this ledger agree on it.
LOCK_KEY = 0x068D42BC7F74DEFF
APPLIED, PENDING, MISMATCH, MISSING_FILE = "applied", "pending", "checksum mismatch", "missing file"

_CREATE_LEDGER = f"""
CREATE TABLE IF NOT EXISTS {LEDGER} (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL
)"""


@dataclass
class MigrationState:
    version: int
    name: str
    state: str
    applied_at: str | None = None
    duration_ms: int | None = None


class Migrator:
    """Runs `migrations` against an open autocommit psycopg connection (injected; tests pass their own)."""

    def __init__(
        self,
        conn: Any,
        migrations: Sequence[Migration],
        *,
        lock_wait: float = 60.0,
        say: Callable[[str], None] | None = None,
        fence: Callable[[str], None] | None = None,
    ) -> None:
        from billingops.locks.heartbeat import fence_all

        self.conn = conn
        self.migrations = list(migrations)
        self.lock_wait = lock_wait
        self.say = say or log.info
        # Before each file: a run that lost its deploy lock (LockLost, exit 4) applies nothing more.
        self.fence = fence or fence_all

    # -- reading ---------------------------------------------------------------------------------
    def ledger(self) -> dict[int, dict[str, Any]]:
        exists = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (LEDGER,)).fetchone()[0]
        if not exists:
            return {}
        from psycopg import sql

        rows = self.conn.execute(
            sql.SQL("SELECT version, name, checksum, applied_at, duration_ms FROM {}").format(sql.Identifier(LEDGER))
        ).fetchall()
        return {r[0]: {"name": r[1], "checksum": r[2], "applied_at": r[3], "duration_ms": r[4]} for r in rows}

    def status(self) -> list[MigrationState]:
        ledger = self.ledger()
        states: list[MigrationState] = []
        for m in self.migrations:
            row = ledger.get(m.version)
            if row is None:
                states.append(MigrationState(m.version, m.label, PENDING))
                continue
            state = APPLIED if row["checksum"] == m.checksum else MISMATCH
            states.append(
                MigrationState(m.version, m.label, state, _iso(row["applied_at"]), row["duration_ms"])
            )
        known = {m.version for m in self.migrations}
        for version, row in sorted(ledger.items()):
            if version not in known:
                states.append(
                    MigrationState(
                        version,
                        f"{version:04d}_{row['name']}.sql",
                        MISSING_FILE,
                        _iso(row["applied_at"]),
                        row["duration_ms"],
                    )
                )
        return sorted(states, key=lambda s: s.version)

    def pending(self) -> list[Migration]:
        """What `migrate` would apply; refuses on an edited applied file or an out-of-order pending one."""
        states = {s.version: s for s in self.status()}
        edited = [s.name for s in states.values() if s.state == MISMATCH]
        if edited:
            raise Refused(
                f"Already-applied migration(s) {', '.join(edited)} were edited since they ran "
                "(checksum mismatch); billingops will not re-run or skip them.",
                hint="Restore the applied file from git and put the change in a new NNNN_*.sql file.",
            )
        todo = [m for m in self.migrations if states[m.version].state == PENDING]
        newest = max((s.version for s in states.values() if s.state in (APPLIED, MISSING_FILE)), default=0)
        late = [m.label for m in todo if m.version < newest]
        if late:
            raise Refused(
                f"Pending migration(s) {', '.join(late)} are numbered below {newest:04d}, which is "
                "already applied; running them now would apply schema changes out of order.",
                hint=f"Renumber them above {newest:04d} (the next free version) and rerun.",
            )
        return todo

    # -- applying --------------------------------------------------------------------------------
    def migrate(self) -> list[MigrationState]:
        """Apply every pending migration under the advisory lock; returns what was applied."""
        self._lock()
        try:
            self.conn.execute(_CREATE_LEDGER)
            done: list[MigrationState] = []
            for migration in self.pending():
                self.fence(f"applying migration {migration.label}")
                done.append(self._apply(migration))
            return done
        finally:
            self._unlock()

    def _apply(self, m: Migration) -> MigrationState:
        import psycopg
        from psycopg import sql

        self.say(f"applying {m.label}")
        began = time.monotonic()
        try:
            with self.conn.transaction():
                self.conn.execute(m.sql)
                duration = int((time.monotonic() - began) * 1000)
                self.conn.execute(
                    sql.SQL("INSERT INTO {} (version, name, checksum, duration_ms) VALUES (%s, %s, %s, %s)").format(
                        sql.Identifier(LEDGER)
                    ),
                    (m.version, m.name, m.checksum, duration),
                )
        except psycopg.Error as exc:
            raise StepFailed(
                f"Migration {m.label} failed{_where(m.sql, exc)}: {_reason(exc)}. Its transaction "
                "was rolled back, so nothing of that file is applied; earlier files stay applied.",
                hint=f"Fix {m.path} and rerun `billingops db migrate` (it resumes at this file).",
            ) from None
        self.say(f"applied {m.label} in {duration} ms")
        return MigrationState(m.version, m.label, APPLIED, None, duration)

    def _lock(self) -> None:
        deadline = time.monotonic() + self.lock_wait
        announced = False
        while True:
            if self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
                return
            holder = self._holder()
            if time.monotonic() >= deadline:
                raise Refused(
                    f"Another migration runner holds the migration lock on this database ({holder}); "
                    f"waited {self.lock_wait:.0f} s.",
                    hint="Let it finish, then rerun; pass --lock-wait SECONDS to wait longer. If that "
                    "session is stuck, end it with SELECT pg_terminate_backend(PID).",
                )
            if not announced:
                self.say(f"waiting for the migration lock held by {holder}")
                announced = True
            time.sleep(0.5)

    def _unlock(self) -> None:
        try:
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        except Exception:  # noqa: BLE001  # a broken connection drops its session locks anyway
            log.debug("could not release the advisory lock; the session end releases it", exc_info=True)

    def _holder(self) -> str:
        row = self.conn.execute(
            "SELECT a.pid, a.application_name, a.client_addr::text, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
            ((LOCK_KEY >> 32) & 0xFFFFFFFF, LOCK_KEY & 0xFFFFFFFF),
        ).fetchone()
        if row is None:
            return "a session that just released it"
        pid, app, addr, started = row
        return (
            f"pid {pid}, {app or 'unknown application'} from {addr or 'local socket'}, since {_iso(started)}"
        )


def _iso(value: Any) -> str | None:
    if hasattr(value, "isoformat"):
        text: str = value.isoformat(timespec="seconds")
        return text
    return cast("str | None", value)  # NULL, or text the driver already rendered


def _reason(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    code = getattr(exc, "sqlstate", None)
    text = primary or str(exc).splitlines()[0]
    return f"{text} (SQLSTATE {code})" if code else text


def _where(sql: str, exc: Exception) -> str:
    position = getattr(getattr(exc, "diag", None), "statement_position", None)
    if not position:
        return ""
    try:
        line = sql[: int(position)].count("\n") + 1
    except ValueError:
        return ""
    return f" at line {line}"
