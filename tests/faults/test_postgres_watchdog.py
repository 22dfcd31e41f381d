"""The PostgreSQL liveness watchdog on its own: a server that accepts TCP but never answers is declared frozen
within the configured bound, and what waited on it (a psycopg query, a libpq child) is woken; a live server
is never declared frozen, even while a long query runs."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from billingops.errors import ConfigError, ExternalError, Interrupted
from billingops.transfer.postgres import watchdog as postgres_watchdog
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.watchdog import Settings, Watchdog

FAST = Settings(period=0.2, timeout=2, failures=2)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A listening socket nobody accepts from: the kernel completes the TCP handshake, nothing ever answers,
    as with a SIGSTOPped postmaster."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock.getsockname()[1]
    sock.close()


def _endpoint(port: int, role: str) -> PgEndpoint:
    return PgEndpoint(f"postgresql://app:watchdog-secret@127.0.0.1:{port}/billing", role)


def test_settings_from_env(monkeypatch):
    assert Settings.from_env() == Settings(period=5.0, timeout=10, failures=3)
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_SECONDS", "0.5")
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_TIMEOUT", "3")
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_FAILURES", "4")
    assert Settings.from_env() == Settings(period=0.5, timeout=3, failures=4)
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_TIMEOUT", "1")  # below libpq's floor of 2 s
    with pytest.raises(ConfigError, match="BILLINGOPS_PG_PROBE_TIMEOUT"):
        Settings.from_env()
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_TIMEOUT", "soon")
    with pytest.raises(ConfigError):
        Settings.from_env()


@pytest.mark.timeout(60)
def test_a_silent_server_is_declared_frozen_and_its_children_killed(silent_server, postgres_server):
    endpoint = _endpoint(silent_server, "target")
    child = subprocess.Popen(
        ["sleep", "60"], env={**endpoint.child_env(), "PATH": "/usr/bin:/bin"}, stdout=subprocess.DEVNULL
    )
    other = subprocess.Popen(["sleep", "60"], env={"PATH": "/usr/bin:/bin"}, stdout=subprocess.DEVNULL)
    # a query blocked on the frozen server, stood in for by a long sleep on a live one tracked under its key
    blocked = psycopg.connect(postgres_server.url(), autocommit=True)
    outcome: list[BaseException | None] = []

    def wait_on_it() -> None:
        try:
            blocked.execute("SELECT pg_sleep(50)")
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001  # the test inspects it
            outcome.append(exc)

    try:
        started = time.monotonic()
        with Watchdog([_endpoint(postgres_server.port, "source"), endpoint], FAST) as watchdog:
            watchdog.track(postgres_watchdog.server_key(endpoint.params()), blocked)
            waiter = threading.Thread(target=wait_on_it)
            waiter.start()
            while watchdog.frozen is None and time.monotonic() - started < 30:
                time.sleep(0.1)
            waiter.join(timeout=10)
            seconds = time.monotonic() - started
            error = watchdog.error()
            # connecting to a frozen server fails at once, with the watchdog's error
            with pytest.raises(ExternalError, match="stopped answering"):
                endpoint.connect()
        assert watchdog.frozen is not None and watchdog.frozen.roles == ["target"]
        # two unanswered 2 s probes 0.2 s apart: about 4.4 s, never the 50 s the query would have taken
        assert 4 <= seconds < 15, seconds
        assert not waiter.is_alive() and isinstance(outcome[0], psycopg.OperationalError), outcome
        assert child.wait(timeout=5) == -9
        assert other.poll() is None  # not a libpq child of this server: left alone
        assert error is not None
        assert "The target PostgreSQL at postgresql://app:***@127.0.0.1" in error.message
        assert "stopped answering" in error.message and "--resume" in error.hint
        assert "watchdog-secret" not in error.message + error.hint
    finally:
        for proc in (child, other):
            proc.kill()
            proc.wait()
        blocked.close()


@pytest.mark.timeout(60)
def test_a_busy_live_server_is_never_declared_frozen(postgres_server):
    endpoint = PgEndpoint(postgres_server.url(), "target")
    with Watchdog([endpoint], FAST) as watchdog:
        with endpoint.connect() as conn:
            # a long statement (an index build, a verification query) while the probes run
            conn.execute("SELECT pg_sleep(6)")
        assert watchdog.frozen is None and watchdog.error() is None
    assert postgres_watchdog._ACTIVE == {}


@pytest.mark.timeout(60)
def test_watching_replaces_the_woken_waiters_error_but_not_a_ctrl_c(silent_server, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_SECONDS", "0.2")
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_TIMEOUT", "2")
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_FAILURES", "1")
    endpoint = _endpoint(silent_server, "source")
    with pytest.raises(ExternalError, match="The source PostgreSQL .* stopped answering"):
        with postgres_watchdog.watching([endpoint]) as watchdog:
            while watchdog.frozen is None:
                time.sleep(0.1)
            raise RuntimeError("psql exited with -9")  # what a woken waiter raises
    with pytest.raises(Interrupted):
        with postgres_watchdog.watching([endpoint]) as watchdog:
            while watchdog.frozen is None:
                time.sleep(0.1)
            raise Interrupted("interrupted", hint="rerun with --resume")
    with pytest.raises(RuntimeError):  # a live run's own errors pass through untouched
        with postgres_watchdog.watching([endpoint]):
            raise RuntimeError("a real failure")


def test_a_nested_watchdog_hands_the_servers_back_to_the_outer_one(silent_server):
    """preflight() guards itself and may run inside a guarded block: after it returns, connections opened in
    the outer block must still be woken by the outer watchdog."""
    endpoint = _endpoint(silent_server, "source")
    key = postgres_watchdog.server_key(endpoint.params())
    with Watchdog([endpoint], Settings(period=60, timeout=2, failures=3)) as outer:
        with Watchdog([endpoint], Settings(period=60, timeout=2, failures=3)) as inner:
            assert postgres_watchdog._ACTIVE[key] is inner
        assert postgres_watchdog._ACTIVE[key] is outer
    assert key not in postgres_watchdog._ACTIVE
