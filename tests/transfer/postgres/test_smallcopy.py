"""Small tables copied in-process over a worker's long-lived sessions: one snapshot for every table, the
source's encoding carried to the target, one pair of connections for many tables, and a failure that names the
table and leaves the worker able to copy the next one."""

from __future__ import annotations

import psycopg
import pytest

from billingops.errors import ExternalError
from billingops.transfer.postgres import copy as postgres_copy
from billingops.transfer.postgres import smallcopy
from billingops.transfer.postgres import units as postgres_units
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import TableInfo

pytestmark = pytest.mark.slow


def table(name: str, columns: list[str]) -> TableInfo:
    return TableInfo("public", name, 0, 8192, 1, 0, columns, False)


@pytest.fixture
def latin1_source(source_pg) -> str:
    """A LATIN1 source database: its bytes are not UTF-8, the target's encoding."""
    with psycopg.connect(source_pg.url(), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "small_latin1"')
        conn.execute("CREATE DATABASE small_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    url = source_pg.url("small_latin1")
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(3):
            conn.execute(f"CREATE TABLE t{i} (id int, name text)")
            conn.execute(f"INSERT INTO t{i} SELECT g, 'café ' || g FROM generate_series(1, {10 * (i + 1)}) g")
    return url


def test_many_tables_one_snapshot_one_session_pair(latin1_source, empty_target):
    with psycopg.connect(empty_target, autocommit=True) as conn:
        for i in range(3):
            conn.execute(f"CREATE TABLE t{i} (id int, name text)")
    source, target = PgEndpoint.parse(latin1_source, "source", "-"), PgEndpoint.parse(empty_target, "target", "-")
    holder = postgres_copy.SnapshotHolder(source)
    try:
        # Rows written after the snapshot was exported must not travel.
        with psycopg.connect(latin1_source, autocommit=True) as conn:
            conn.execute("INSERT INTO t2 VALUES (999, 'late')")
        with smallcopy.CopySessions(source, target, holder.snapshot) as sessions:
            units = [postgres_units.Unit(table(f"t{i}", ["id", "name"])) for i in range(3)]
            results = [smallcopy.copy_small(unit, sessions) for unit in units]
            with psycopg.connect(empty_target) as conn:
                backends = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'billingops-migrate-target'"
                ).fetchone()[0]
    finally:
        holder.close()
    assert [r.rows for r in results] == [10, 20, 30]
    assert backends == 1  # one target session carried the three tables
    with psycopg.connect(empty_target) as conn:
        assert conn.execute("SELECT count(*) FROM t2").fetchone()[0] == 30
        names = {r[0] for r in conn.execute("SELECT name FROM t0").fetchall()}
    assert "café 1" in names  # LATIN1 é arrived as the same character, not as a byte error


def test_a_failing_table_is_named_and_the_next_one_still_copies(latin1_source, empty_target):
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("CREATE TABLE t1 (id int, name text)")  # t0 is missing on the target
    source, target = PgEndpoint.parse(latin1_source, "source", "-"), PgEndpoint.parse(empty_target, "target", "-")
    holder = postgres_copy.SnapshotHolder(source)
    try:
        with smallcopy.CopySessions(source, target, holder.snapshot) as sessions:
            with pytest.raises(ExternalError, match='Copying public.t0 failed: relation "public.t0" does not exist'):
                smallcopy.copy_small(postgres_units.Unit(table("t0", ["id", "name"])), sessions)
            assert smallcopy.copy_small(postgres_units.Unit(table("t1", ["id", "name"])), sessions).rows == 20
    finally:
        holder.close()


def test_a_fresh_run_copies_without_truncate_a_resumed_one_empties_first(latin1_source, empty_target):
    # A fresh run's tables were just created empty: the COPY alone (no TRUNCATE, no transaction round trips).
    # A resumed run may find rows of the interrupted one: those are emptied in the COPY's transaction.
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("CREATE TABLE t0 (id int, name text)")
    source, target = PgEndpoint.parse(latin1_source, "source", "-"), PgEndpoint.parse(empty_target, "target", "-")
    unit = postgres_units.Unit(table("t0", ["id", "name"]))

    def filenode() -> int:
        with psycopg.connect(empty_target) as conn:
            return conn.execute("SELECT pg_relation_filenode('t0')").fetchone()[0]

    created = filenode()
    holder = postgres_copy.SnapshotHolder(source)
    try:
        with smallcopy.CopySessions(source, target, holder.snapshot) as sessions:
            first = smallcopy.copy_small(unit, sessions, fresh=True)
            after_fresh = filenode()
            again = smallcopy.copy_small(unit, sessions)  # as --resume does: rows already there
    finally:
        holder.close()
    assert first.rows == again.rows == 10
    assert after_fresh == created  # no TRUNCATE: the table keeps the file pre-data created
    assert filenode() != created  # TRUNCATE gave it a new one
    with psycopg.connect(empty_target) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM t0").fetchone() == (10, 10)
