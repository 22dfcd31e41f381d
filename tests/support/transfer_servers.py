"""Fixtures for migrate-cloud: two real PostgreSQL clusters and three real redis-servers, one per session.

The Redis engineer's tests use `source_redis` (AUTH), `target_redis` (AUTH) and `tls_redis` (TLS + AUTH,
with a CA file): the shapes ElastiCache and Memorystore present.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.support import servers

REDIS_PASSWORD = "redis-test-pw"


def _pg_cluster(name: str):
    with servers.postgres_cluster(name) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def source_pg():
    yield from _pg_cluster("pg-source")


@pytest.fixture(scope="session")
def target_pg():
    yield from _pg_cluster("pg-target")


def _flush_all(server: servers.RedisServer) -> None:
    import redis

    client = redis.Redis.from_url(server.url())
    try:
        client.flushall()
        client.function_flush()  # functions live outside the keyspace: FLUSHALL keeps them
    finally:
        client.close()


@pytest.fixture(scope="session")
def _source_redis_server(tmp_path_factory):
    server = servers.start_redis(tmp_path_factory.mktemp("redis-source"), password=REDIS_PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _target_redis_server(tmp_path_factory):
    server = servers.start_redis(tmp_path_factory.mktemp("redis-target"), password=REDIS_PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _tls_redis_server(tmp_path_factory):
    server = servers.start_redis(tmp_path_factory.mktemp("redis-tls"), password=REDIS_PASSWORD, tls=True)
    yield server
    server.stop()


@pytest.fixture
def source_redis(_source_redis_server):
    """redis-server with requirepass, emptied before each test. `.url(db)` carries the password."""
    _flush_all(_source_redis_server)
    return _source_redis_server


@pytest.fixture
def target_redis(_target_redis_server):
    """A second redis-server with requirepass, emptied before each test."""
    _flush_all(_target_redis_server)
    return _target_redis_server


@pytest.fixture
def tls_redis(_tls_redis_server):
    """redis-server with TLS (`.tls_url(db)`, `.ca_file`) and requirepass, emptied before each test."""
    _flush_all(_tls_redis_server)
    return _tls_redis_server


# -- PostgreSQL databases ------------------------------------------------------------------------------------
SCHEMA_SQL = Path(__file__).parents[1] / "data" / "billing_schema.sql"


def psql_file(url: str, path: Path) -> None:
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def billing_source(source_pg) -> str:
    """URL of a source database holding every object kind of billing_schema.sql (read-only for the tests)."""
    url = source_pg.createdb("billing")
    psql_file(url, SCHEMA_SQL)
    return url


@pytest.fixture(scope="session")
def big_source(source_pg) -> str:
    """A source database with one table big enough (~40 MB) to be killed in the middle of."""
    url = source_pg.createdb("billing_big")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE ledger (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2), "
            "memo text)"
        )
        conn.execute(
            "INSERT INTO ledger SELECT g, g % 1000, g * 0.01, repeat(md5(g::text), 4) "
            "FROM generate_series(1, 250000) g"
        )
        conn.execute("CREATE INDEX ledger_account ON ledger (account)")
        conn.execute("CREATE TABLE small (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 100) g")
        conn.execute("ANALYZE")
    return url


@pytest.fixture
def empty_target(target_pg) -> str:
    """A fresh, empty target database for one test."""
    return target_pg.createdb(f"t_{uuid.uuid4().hex[:10]}")
