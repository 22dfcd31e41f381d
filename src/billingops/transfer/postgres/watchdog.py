"""A liveness watchdog over the PostgreSQL servers of a migration: a frozen server ends the run, never hangs it.

A server that stops answering without closing its connections (SIGSTOP, a paused VM, a wedged host) blocks
every query and COPY on it for ever: the peer's kernel still acknowledges, so neither TCP keepalives nor
tcp_user_timeout fire, and libpq has no client-side query timeout. A statement timeout cannot tell a frozen
server from a 20-minute index build either.

So every period a probe opens a NEW connection to each server with a short connect_timeout. A live server
answers the startup handshake even while it builds an index for an hour; a frozen postmaster never does.
After N consecutive unanswered probes the server is declared frozen and everything waiting on it is woken:
the sockets of the psycopg connections opened through `PgEndpoint.connect()` are shut down (a blocked recv
sees EOF and psycopg raises), and the libpq children (psql, pg_dump, pg_restore and its workers) whose
environment points at that server are killed. `PgMigration.run()` then raises the watchdog's ExternalError.

The probe stops at the end of the handshake (no `SELECT 1`): the handshake is bounded by connect_timeout,
a query would not be, and a server that forked a backend and authenticated us is not frozen.

Tunables (environment variables; the defaults declare a frozen server 35-45 s after it froze, before the COPY
pipes' own 60 s no-progress watchdog, so the error names the server):
  BILLINGOPS_PG_PROBE_SECONDS    pause between two probes of one server (default 5)
  BILLINGOPS_PG_PROBE_TIMEOUT    connect_timeout of one probe in seconds, at least 2 (libpq's floor; default 10)
  BILLINGOPS_PG_PROBE_FAILURES   consecutive unanswered probes that declare a server frozen (default 3)
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.config import tunables
from billingops.errors import ExternalError, Interrupted
from billingops.transfer.interrupts import descendants

if TYPE_CHECKING:
    from billingops.transfer.postgres.conn import PgEndpoint

log = logging.getLogger(__name__)

# After a server is declared frozen, how often libpq children started for it since are ended.
KILL_PERIOD = 0.2

ServerKey = tuple[str, str]  # (host, port) as libpq sees them: one server may be both source and target


@dataclass(frozen=True)
class Settings:
    period: float = 5.0
    timeout: int = 10
    failures: int = 3

    @classmethod
    def from_env(cls) -> Settings:
        knobs = tunables()
        return cls(
            period=knobs.pg_probe_period,
            timeout=knobs.pg_probe_timeout,
            failures=knobs.pg_probe_failures,
        )


def server_key(params: dict[str, str]) -> ServerKey:
    return params.get("host", ""), params.get("port", "") or "5432"


@dataclass
class _Server:
    key: ServerKey
    endpoint: PgEndpoint  # probed and named in the error
    roles: list[str]
    conns: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)
    failures: int = 0
    silent_since: float | None = None
    frozen_for: float | None = None  # seconds without an answer when declared frozen


class Watchdog:
    """Probe each server of a migration in its own thread while the `with` block runs."""

    def __init__(self, endpoints: Iterable[PgEndpoint], settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._servers: dict[ServerKey, _Server] = {}
        for endpoint in endpoints:
            key = server_key(endpoint.params())
            if key in self._servers:
                self._servers[key].roles.append(endpoint.role)
            else:
                self._servers[key] = _Server(key, endpoint, [endpoint.role])
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.frozen: _Server | None = None
        self._outer: dict[ServerKey, Watchdog | None] = {}

    # -- lifecycle -----------------------------------------------------------------------------------
    def __enter__(self) -> Watchdog:
        with _ACTIVE_LOCK:
            # A nested watchdog (a guarded helper called inside a guarded run) hands the servers back on exit.
            self._outer = {key: _ACTIVE.get(key) for key in self._servers}
            for key in self._servers:
                _ACTIVE[key] = self
        for server in self._servers.values():
            thread = threading.Thread(
                target=self._probe_loop, args=(server,), name=f"pg-watchdog-{server.endpoint.role}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with _ACTIVE_LOCK:
            for key in self._servers:
                if _ACTIVE.get(key) is self:
                    outer = self._outer.get(key)
                    if outer is None:
                        del _ACTIVE[key]
                    else:
                        _ACTIVE[key] = outer
        for thread in self._threads:
            # a probe in flight ends within its connect_timeout; the threads are daemons either way
            thread.join(timeout=self.settings.timeout + 2)

    # -- what the migration calls --------------------------------------------------------------------
    def track(self, key: ServerKey, conn: Any) -> None:
        server = self._servers.get(key)
        if server is None:
            return
        with self._lock:
            server.conns.add(conn)
            frozen = self.frozen is server
        if frozen:  # opened just as the server was declared frozen: wake it too
            _shut_down(conn)

    def error(self) -> ExternalError | None:
        server = self.frozen
        if server is None:
            return None
        roles = " and ".join(server.roles)
        return ExternalError(
            f"The {roles} PostgreSQL at {server.endpoint.shown} stopped answering (no reply to a new connection "
            f"for {server.frozen_for or 0:.0f} s; the server may be frozen or overloaded). "
            "The migration was stopped.",
            hint=f"Check the {roles} server (running, not paused, not out of memory or disk) and any tunnel to it, "
            "then rerun the same command with --resume: finished tables are kept.",
        )

    def raise_if_frozen(self) -> None:
        error = self.error()
        if error is not None:
            raise error from None

    # -- probing -------------------------------------------------------------------------------------
    def _probe_loop(self, server: _Server) -> None:
        while not self._stop.wait(self.settings.period):
            started = time.monotonic()
            if self._answers(server):
                server.failures, server.silent_since = 0, None
                continue
            server.failures += 1
            if server.silent_since is None:
                server.silent_since = started
            log.info(
                "the %s PostgreSQL did not answer a new connection (%d of %d)",
                server.roles[0],
                server.failures,
                self.settings.failures,
            )
            if server.failures >= self.settings.failures:
                server.frozen_for = time.monotonic() - server.silent_since
                self._declare_frozen(server)
                break
        # Until the migration has unwound, a worker may still start a psql or pg_restore for this server (it
        # would wait out its own connect timeout): keep ending them.
        while self.frozen is server and not self._stop.wait(KILL_PERIOD):
            _kill_all(libpq_children(server.key))

    def _answers(self, server: _Server) -> bool:
        import psycopg

        try:
            # not through PgEndpoint.connect(): a probe is never tracked, and has its own short timeout
            conn = psycopg.connect(
                server.endpoint.url,
                **server.endpoint.ssl_params(),
                connect_timeout=self.settings.timeout,
                application_name=f"billingops-probe-{server.roles[0]}",
            )
        except psycopg.Error as exc:
            # A server that replied with an error (too many clients, starting up...) is alive: only silence
            # and refused connections count.
            text = str(exc)
            if "FATAL" in text or "ERROR" in text:
                log.debug("probe of the %s PostgreSQL answered with an error", server.roles[0])
                return True
            return False
        conn.close()
        return True

    def _declare_frozen(self, server: _Server) -> None:
        with self._lock:
            if self.frozen is not None:
                return
            self.frozen = server
            conns = list(server.conns)
        log.warning(
            "the %s PostgreSQL at %s stopped answering: stopping the migration", server.roles[0], server.endpoint.shown
        )
        for conn in conns:
            _shut_down(conn)
        _kill_all(libpq_children(server.key))


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _shut_down(conn: Any) -> None:
    """Wake whatever waits on this connection: a blocked recv returns EOF, and psycopg raises."""
    try:
        if conn.closed:
            return
        with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception as exc:  # noqa: BLE001  # closed meanwhile: nothing is waiting on it then
        log.debug("could not shut down a connection: %s", exc)


def libpq_children(key: ServerKey) -> list[int]:
    """Our descendants whose libpq environment (PGHOST/PGPORT) points at this server (Linux /proc)."""
    found = []
    for pid in descendants():
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        env = dict(item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
        if b"PGHOST" not in env or b"PGCONNECT_TIMEOUT" not in env:
            continue  # not started with PgEndpoint.child_env()
        host, port = env[b"PGHOST"].decode(errors="replace"), env.get(b"PGPORT", b"").decode(errors="replace")
        if (host, port or "5432") == key:
            found.append(pid)
    return found


@contextlib.contextmanager
def watching(endpoints: Iterable[PgEndpoint]) -> Iterator[Watchdog]:
    """Run the block under a watchdog; if a server froze, its error replaces whatever the woken waiter raised
    (a psycopg error, a killed psql's exit code). A Ctrl-C stays a Ctrl-C."""
    with Watchdog(endpoints) as watchdog:
        try:
            yield watchdog
        except Interrupted:
            raise
        except Exception:
            watchdog.raise_if_frozen()
            raise


# The watchdog of each server being migrated, so connections opened anywhere register with it.
_ACTIVE: dict[ServerKey, Watchdog] = {}
_ACTIVE_LOCK = threading.Lock()


def track(params: dict[str, str], conn: Any) -> None:
    """Called by PgEndpoint.connect() for every new connection: cheap when no watchdog runs."""
    if not _ACTIVE:
        return
    key = server_key(params)
    with _ACTIVE_LOCK:
        watchdog = _ACTIVE.get(key)
    if watchdog is not None:
        watchdog.track(key, conn)


def raise_if_frozen(params: dict[str, str]) -> None:
    """Called before connecting: a server already declared frozen fails at once, not after a connect timeout."""
    if not _ACTIVE:
        return
    with _ACTIVE_LOCK:
        watchdog = _ACTIVE.get(server_key(params))
    if watchdog is not None and watchdog.frozen is not None and watchdog.frozen.key == server_key(params):
        watchdog.raise_if_frozen()
