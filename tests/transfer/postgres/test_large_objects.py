"""Large objects arrive with their owner, comment and access privileges, and verification looks at them."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from billingops.transfer.postgres import objects as postgres_objects
from billingops.transfer.postgres import verify as postgres_verify
from billingops.transfer.postgres.conn import PgEndpoint
from tests.support import migrate_cli

pytestmark = pytest.mark.slow

ROLES = ("bo_lo_owner", "bo_lo_reader")
BLOBS = """
SELECT lo_from_bytea(71001, 'scanned invoice'::bytea), lo_from_bytea(71002, 'plain'::bytea),
       lo_from_bytea(71003, 'locked'::bytea);
ALTER LARGE OBJECT 71001 OWNER TO bo_lo_owner;
COMMENT ON LARGE OBJECT 71001 IS 'invoice 4711, page 1';
GRANT SELECT ON LARGE OBJECT 71001 TO bo_lo_reader;
GRANT UPDATE ON LARGE OBJECT 71001 TO PUBLIC;
ALTER LARGE OBJECT 71003 OWNER TO bo_lo_owner;
REVOKE UPDATE ON LARGE OBJECT 71003 FROM bo_lo_owner;
"""


def _roles(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for role in ROLES:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f"CREATE ROLE {role}")


@pytest.fixture
def blob_source(source_pg, target_pg):
    _roles(source_pg.url())
    _roles(target_pg.url())
    url = source_pg.createdb(f"lo_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE docs (id int PRIMARY KEY, blob oid)")
        conn.execute("INSERT INTO docs VALUES (1, 71001), (2, 71002), (3, 71003)")
        conn.execute(BLOBS)
    return url


def metadata(url: str) -> dict:
    with psycopg.connect(url) as conn:
        return postgres_objects.large_object_metadata(conn)


def test_owner_comment_and_privileges_arrive_and_are_verified(run_cli, blob_source, empty_target):
    result = run_cli(*migrate_cli.args(*migrate_cli.postgres(blob_source, empty_target)))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["postgres"]["verification"]["large_objects"] == 3
    source = metadata(blob_source)
    assert source[71001][0] == "bo_lo_owner" and source[71001][2] == "invoice 4711, page 1"
    assert source[71002] == ("postgres", None, None)
    assert metadata(empty_target) == source

    src, dst = PgEndpoint(blob_source, "source"), PgEndpoint(empty_target, "target")
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("COMMENT ON LARGE OBJECT 71001 IS 'edited'")
        conn.execute("REVOKE SELECT ON LARGE OBJECT 71001 FROM bo_lo_reader")
        conn.execute("ALTER LARGE OBJECT 71002 OWNER TO bo_lo_owner")
    for mode in ("counts", "full"):
        report = postgres_verify.verify(src, dst, [], mode=mode, jobs=1)
        assert not report.ok
        found = " ".join(report.large_object_mismatches)
        assert "large object 71001: different comment (source 'invoice 4711, page 1', target 'edited')" in found
        assert "large object 71001: different privileges" in found
        assert "large object 71002: different owner (source 'postgres', target 'bo_lo_owner')" in found
