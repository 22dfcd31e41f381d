"""A PostgreSQL or Redis server stopped mid-copy during `migrate-cloud`: exit 3 with an error naming what
failed, no hang, and `--resume` after the restart finishes and verifies with no lost or duplicated data."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support import migrate_cli, servers
from tests.support.ports import free_port, wait_for_port

pytestmark = pytest.mark.slow

LEDGER_ROWS = 300_000
REDIS_PASSWORD = "faults-redis-pw"
REDIS_KEYS = 60_000


# -- PostgreSQL ---------------------------------------------------------------------------------------------
def _pg_ctl(cluster: servers.PostgresCluster, *args: str) -> None:
    # PostgreSQL refuses to run as root: go through the same runuser prefix the test servers use.
    subprocess.run(
        [*servers._pg_user_prefix(), str(cluster.bindir / "pg_ctl"), "-D", str(cluster.datadir), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=60,
    )


def stop_immediately(cluster: servers.PostgresCluster) -> None:
    _pg_ctl(cluster, "-m", "immediate", "-w", "stop")


def restart(cluster: servers.PostgresCluster) -> None:
    _pg_ctl(cluster, "-l", str(cluster.datadir.parent / "pg.log"), "-w", "start")
    wait_for_port(cluster.port, timeout=30)


def _cluster(name: str) -> Iterator[servers.PostgresCluster]:
    with servers.postgres_cluster(f"faults-{name}") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def fault_source_pg():
    yield from _cluster("src")


@pytest.fixture(scope="module")
def fault_target_pg():
    yield from _cluster("tgt")


@pytest.fixture(scope="module")
def ledger_source(fault_source_pg) -> str:
    url = fault_source_pg.createdb("billing")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE ledger (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2), memo text)"
        )
        conn.execute(
            f"INSERT INTO ledger SELECT g, g % 1000, g * 0.01, repeat(md5(g::text), 4) "
            f"FROM generate_series(1, {LEDGER_ROWS}) g"
        )
        conn.execute("CREATE TABLE small (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 100) g")
        conn.execute("ANALYZE")
    return url


def _start(cwd: Path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        migrate_cli.argv(*argv),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_event(proc: subprocess.Popen, kind: str, lines: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("{") and json.loads(line).get("event") == kind:
            return
    raise AssertionError(f"the run ended before a {kind} event: {proc.wait()} {''.join(lines)[-2000:]}")


def _finish(proc: subprocess.Popen, lines: list[str], timeout: float) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # the whole session: the psql COPY pipes too, not just billingops
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"migrate-cloud hung after the server stopped: {''.join(lines)[-2000:]}{err}") from None
    return proc.returncode, out, "".join(lines) + err


def _rows(url: str, query: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.execute(query).fetchone()[0]


def _last_error(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.startswith("error:")][-1]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "which",
    [
        "target",
        "source",
    ],
)
def test_postgres_stopped_mid_copy_then_resume(tmp_path, ledger_source, fault_source_pg, fault_target_pg, which):
    target = fault_target_pg.createdb(f"t_{which}")
    flags = (
        "--only",
        "postgres",
        "--source-postgres",
        ledger_source,
        "--target-postgres",
        target,
        "--jobs",
        "2",
        "--split-larger-than",
        "2",
    )
    proc = _start(tmp_path, *flags)
    lines: list[str] = []
    _wait_for_event(proc, "range_done", lines)
    stopped = fault_target_pg if which == "target" else fault_source_pg
    stop_immediately(stopped)
    started = time.monotonic()
    try:
        code, _, stderr = _finish(proc, lines, timeout=120)
    finally:
        restart(stopped)
    assert code == 3, stderr[-3000:]
    error = _last_error(stderr)
    assert "Traceback" not in stderr
    # names the table and which side failed, and says how to go on
    assert "public.ledger" in error and which in error.lower() and "--resume" in error, error
    assert time.monotonic() - started < 120

    resumed = _resume(tmp_path, tuple(flags))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _rows(target, "SELECT count(*) FROM ledger") == LEDGER_ROWS
    assert _rows(target, "SELECT count(DISTINCT id) FROM ledger") == LEDGER_ROWS
    assert _rows(target, "SELECT count(*) FROM small") == 100
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT sum(id), sum(amount) FROM ledger").fetchone() == (
            LEDGER_ROWS * (LEDGER_ROWS + 1) // 2,
            psycopg.connect(ledger_source).execute("SELECT sum(amount) FROM ledger").fetchone()[0],
        )


# -- Redis --------------------------------------------------------------------------------------------------
class RestartableRedis:
    """A redis-server with an fsync-always append-only file, so a SIGKILL and a restart keep what was written."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server not installed"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.base),
                "--requirepass",
                REDIS_PASSWORD,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, timeout=20, proc=self.proc)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def url(self, db: int = 0) -> str:
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/{db}"


@pytest.fixture
def redis_pair(tmp_path) -> Iterator[tuple[RestartableRedis, RestartableRedis]]:
    (tmp_path / "src").mkdir()
    (tmp_path / "tgt").mkdir()
    source, target = RestartableRedis(tmp_path / "src"), RestartableRedis(tmp_path / "tgt")
    yield source, target
    source.stop()
    target.stop()


def _load_source(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        pipe = client.pipeline(transaction=False)
        for i in range(REDIS_KEYS):
            pipe.set(f"invoice:{i}", "x" * 200)
            if i % 5 == 0:
                pipe.hset(f"customer:{i}", mapping={"name": f"c{i}", "plan": "pro"})
            if i % 5000 == 4999:
                pipe.execute()
        pipe.execute()
    finally:
        client.close()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("which", ["target", "source"])
def test_redis_stopped_mid_copy_then_resume(tmp_path, redis_pair, which):
    source, target = redis_pair
    flags, proc, lines = _redis_copy_under_way(tmp_path, source, target)
    stopped = target if which == "target" else source
    stopped.kill()
    started = time.monotonic()
    try:
        code, _, stderr = _finish(proc, lines, timeout=120)
    finally:
        stopped.start()
    assert code == 3, stderr[-3000:]
    error = _last_error(stderr)
    assert "Traceback" not in stderr
    assert "redis" in error.lower(), error
    assert time.monotonic() - started < 120

    resumed = _resume(tmp_path, tuple(flags))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_redis_copied(target)


def _redis_copy_under_way(
    tmp_path: Path, source: servers.RedisServer, target: servers.RedisServer
) -> tuple[tuple[str, ...], subprocess.Popen[str], list[str]]:
    """A loaded source and a Redis-only migrate-cloud that has started copying: (its flags, process, lines)."""
    _load_source(source.url())
    flags = ("--only", "redis", "--source-redis", source.url(), "--target-redis", target.url(), "--jobs", "1")
    proc = _start(tmp_path, *flags)
    lines: list[str] = []
    _wait_for_event(proc, "redis_progress", lines)
    return flags, proc, lines


def _assert_redis_copied(target: servers.RedisServer) -> None:
    import redis

    client = redis.Redis.from_url(target.url())
    try:
        assert client.dbsize() == REDIS_KEYS + REDIS_KEYS // 5
        assert client.hgetall("customer:0") == {b"name": b"c0", b"plan": b"pro"}
    finally:
        client.close()


# -- a frozen server (a network partition: no RST, no answer) ------------------------------------------------
def _cluster_pids(cluster: servers.PostgresCluster) -> list[int]:
    postmaster = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                pids.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


# Short watchdog periods: a frozen server is declared after two unanswered 2 s probes, about 5 s. The COPY
# pipes' own no-progress watchdog waits longer, so the server watchdog is what these tests exercise.
FAST_WATCHDOG = {
    "BILLINGOPS_PG_PROBE_SECONDS": "1",
    "BILLINGOPS_PG_PROBE_TIMEOUT": "2",
    "BILLINGOPS_PG_PROBE_FAILURES": "2",
    "BILLINGOPS_COPY_STALL_SECONDS": "300",
}
FROZEN_BOUND = 45  # seconds from the freeze to exit 3: detection (~5 s) plus unwinding, on a loaded machine


def _pg_flags(source: str, target: str) -> tuple[str, ...]:
    return (*migrate_cli.postgres(source, target), "--jobs", "2", "--split-larger-than", "2")


def _frozen_run(
    tmp_path: Path, flags: tuple[str, ...], cluster: servers.PostgresCluster, event: str, **match: str
) -> tuple[int, str, float]:
    """Start a migration, SIGSTOP the whole cluster at the first `event` (fields matching `match`), wait for
    the run to end, then SIGCONT: (exit code, stderr, seconds from the freeze to the exit)."""
    proc = _start(tmp_path, *flags)
    lines: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == event and all(record.get(k) == v for k, v in match.items()):
                break
    else:
        raise AssertionError(f"the run ended before a {event} event: {proc.wait()} {''.join(lines)[-2000:]}")
    pids = _cluster_pids(cluster)
    _signal_all(pids, signal.SIGSTOP)
    started = time.monotonic()
    try:
        code, _, stderr = _finish(proc, lines, timeout=100)
        seconds = time.monotonic() - started
    finally:
        _signal_all(pids, signal.SIGCONT)
    return code, stderr, seconds


def _resume(tmp_path: Path, flags: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run(
        migrate_cli.argv(*flags, "--resume"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _assert_copied(source: str, target: str) -> None:
    assert _rows(target, "SELECT count(*) FROM ledger") == LEDGER_ROWS
    assert _rows(target, "SELECT count(DISTINCT id) FROM ledger") == LEDGER_ROWS
    assert _rows(target, "SELECT count(*) FROM small") == 100
    with psycopg.connect(source) as src, psycopg.connect(target) as dst:
        query = "SELECT sum(id), sum(amount) FROM ledger"
        assert dst.execute(query).fetchone() == src.execute(query).fetchone()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("which", ["target", "source"])
def test_postgres_frozen_mid_copy_is_a_bounded_exit_3_then_resume(
    tmp_path, monkeypatch, ledger_source, fault_source_pg, fault_target_pg, which
):
    for key, value in FAST_WATCHDOG.items():
        monkeypatch.setenv(key, value)
    target = fault_target_pg.createdb(f"t_frozen_{which}")
    flags = _pg_flags(ledger_source, target)
    frozen = fault_target_pg if which == "target" else fault_source_pg
    code, stderr, seconds = _frozen_run(tmp_path, flags, frozen, "range_done")
    print(f"\nfrozen {which} mid-copy: exit {code} {seconds:.1f} s after the freeze")
    assert code == 3, stderr[-3000:]
    assert "Traceback" not in stderr
    error = _last_error(stderr)
    assert f"The {which} PostgreSQL" in error and "stopped answering" in error, error
    assert "--resume" in stderr.split(error, 1)[1] or "--resume" in error, stderr[-1500:]
    assert seconds < FROZEN_BOUND

    resumed = _resume(tmp_path, flags)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_copied(ledger_source, target)


@pytest.mark.timeout(240)
def test_postgres_target_frozen_during_verification_is_a_bounded_exit_3(
    tmp_path, monkeypatch, ledger_source, fault_target_pg
):
    for key, value in FAST_WATCHDOG.items():
        monkeypatch.setenv(key, value)
    target = fault_target_pg.createdb("t_frozen_verify")
    flags = _pg_flags(ledger_source, target)
    code, stderr, seconds = _frozen_run(tmp_path, flags, fault_target_pg, "phase", phase="verify")
    print(f"\nfrozen target during verification: exit {code} {seconds:.1f} s after the freeze")
    assert code == 3, stderr[-3000:]
    assert "Traceback" not in stderr
    error = _last_error(stderr)
    assert "The target PostgreSQL" in error and "stopped answering" in error, error
    assert seconds < FROZEN_BOUND

    resumed = _resume(tmp_path, flags)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_copied(ledger_source, target)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("which", ["target", "source"])
def test_redis_frozen_mid_copy_is_a_bounded_exit_3_then_resume(tmp_path, redis_pair, which):
    """Every Redis read has a socket timeout (60 s at most) and a worker process that dies wakes the parent:
    a SIGSTOPped Redis ends the run with exit 3 naming that server."""
    source, target = redis_pair
    flags, proc, lines = _redis_copy_under_way(tmp_path, source, target)
    frozen = target if which == "target" else source
    assert frozen.proc is not None
    frozen.proc.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    try:
        code, _, stderr = _finish(proc, lines, timeout=150)
        seconds = time.monotonic() - started
    finally:
        frozen.proc.send_signal(signal.SIGCONT)
    assert code == 3, stderr[-3000:]
    error = _last_error(stderr)
    assert "Traceback" not in stderr
    assert "redis" in error.lower() and f"127.0.0.1:{frozen.port}/" in error, error
    print(f"\nfrozen Redis {which}: exit 3 after {seconds:.0f} s: {error}")

    resumed = _resume(tmp_path, flags)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_redis_copied(target)
