"""Fixtures for the migration tests: a fresh database per test on the session's real PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support import servers

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def pg():
    """Our own cluster: the shared `postgres_server` lives under pytest's basetemp (0700 root), which the
    postgres user cannot enter when the tests run as root."""
    with servers.postgres_cluster("dbmigrate") as cluster:
        yield cluster


@pytest.fixture
def db_url(pg) -> str:
    return pg.createdb(f"mig_{uuid.uuid4().hex[:10]}")


@pytest.fixture
def conn(db_url):
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


def write(folder: Path, name: str, sql: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(sql, encoding="utf-8")
    return path
