"""Fixtures for migrate-cloud: two real PostgreSQL clusters and three real redis-servers, one per session.

The Redis engineer's tests use `source_redis` (AUTH), `target_redis` (AUTH) and `tls_redis` (TLS + AUTH, with a CA
file): the shapes ElastiCache and Memorystore present.
"""

from __future__ import annotations

import pytest

from tests.support import servers

REDIS_PASSWORD = "redis-test-pw"


@pytest.fixture(scope="session")
def source_pg(tmp_path_factory):
    cluster = servers.start_postgres(tmp_path_factory.mktemp("pg-source"))
    yield cluster
    servers.stop_postgres(cluster)


@pytest.fixture(scope="session")
def target_pg(tmp_path_factory):
    cluster = servers.start_postgres(tmp_path_factory.mktemp("pg-target"))
    yield cluster
    servers.stop_postgres(cluster)


def _flush_all(server: servers.RedisServer) -> None:
    import redis

    client = redis.Redis.from_url(server.url())
    try:
        client.flushall()
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
