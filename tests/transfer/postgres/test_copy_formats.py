"""Tables binary COPY cannot carry: no columns, types without binary I/O, binary forms that embed OIDs; and the
error a failing psql child reports (the message, not its caret line), once and on a resume."""

from __future__ import annotations

import json
import subprocess
import uuid

import psycopg
import pytest

from billingops.transfer.postgres.copy import psql_message
from tests.support import migrate_cli

pytestmark = pytest.mark.slow

AWKWARD = """
CREATE TABLE nocols ();
INSERT INTO nocols DEFAULT VALUES; INSERT INTO nocols DEFAULT VALUES; INSERT INTO nocols DEFAULT VALUES;
CREATE TABLE nocols_empty ();
CREATE TABLE only_generated (g int GENERATED ALWAYS AS (7) STORED);
INSERT INTO only_generated DEFAULT VALUES;
CREATE TABLE acl (id int PRIMARY KEY, grant_ aclitem);
INSERT INTO acl VALUES (1, 'postgres=arw/postgres'), (2, NULL);
CREATE DOMAIN acl_d AS aclitem;
CREATE TABLE acl_domain (a acl_d);
INSERT INTO acl_domain VALUES ('=r/postgres');
-- A base type without SEND/RECEIVE (text's own I/O functions, as pg_regress's types use C ones).
CREATE TYPE plain;
CREATE FUNCTION plain_in(cstring) RETURNS plain AS 'textin' LANGUAGE internal IMMUTABLE STRICT;
CREATE FUNCTION plain_out(plain) RETURNS cstring AS 'textout' LANGUAGE internal IMMUTABLE STRICT;
CREATE TYPE plain (INPUT = plain_in, OUTPUT = plain_out, LIKE = text);
CREATE TABLE plains (id int, p plain);
INSERT INTO plains VALUES (1, 'one'), (2, 'two');
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE TABLE moods (id int, ms mood[]);
INSERT INTO moods VALUES (1, '{calm,busy}'), (2, '{}');
CREATE TYPE pair AS (m mood, n int);
CREATE TABLE pairs (id int, p pair, ps pair[]);
INSERT INTO pairs VALUES (1, ROW('busy', 2), ARRAY[ROW('calm', 1)::pair]);
CREATE TABLE binary_ok (id int, tags int[], at timestamptz, p point);
INSERT INTO binary_ok VALUES (1, '{1,2}', now(), point(1, 2));
"""

TEXT_TABLES = {"public.acl", "public.acl_domain", "public.plains", "public.moods", "public.pairs"}


@pytest.fixture
def awkward_source(source_pg):
    url = source_pg.createdb(f"awk_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(AWKWARD)
    return url


@pytest.fixture
def shifted_target(target_pg):
    """An empty target whose next type OIDs differ from the source's (as on any other server)."""
    url = target_pg.createdb(f"t_{uuid.uuid4().hex[:10]}")
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(7):
            conn.execute(f"CREATE TYPE shift{i} AS ENUM ('x'); DROP TYPE shift{i}")
    return url


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608  # test table names


def test_dry_run_lists_the_text_copy_tables_and_why(run_cli, awkward_source, shifted_target):
    result = run_cli(*migrate_cli.args(*migrate_cli.postgres(awkward_source, shifted_target), "--dry-run"))
    assert result.returncode == 0, result.stderr
    tables = {t["table"]: t for t in json.loads(result.stdout)["postgres"]["preflight"]["source"]["tables"]}
    assert {k for k, t in tables.items() if t["copy_format"] == "text"} == TEXT_TABLES
    assert "aclitem has no binary send/receive" in tables["public.acl"]["text_copy_reason"]
    assert "aclitem has no binary send/receive" in tables["public.acl_domain"]["text_copy_reason"]
    assert "plain has no binary send/receive" in tables["public.plains"]["text_copy_reason"]
    assert "embeds its element type OID" in tables["public.moods"]["text_copy_reason"]
    assert "type pair is a composite whose binary form embeds type OIDs" in tables["public.pairs"]["text_copy_reason"]
    assert tables["public.nocols"]["columns"] == 0


def test_awkward_tables_are_copied_and_verified(run_cli, awkward_source, shifted_target):
    result = run_cli(*migrate_cli.args(*migrate_cli.postgres(awkward_source, shifted_target)))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["postgres"]["verification"]["mode"] == "full"
    for table, rows in {"nocols": 3, "nocols_empty": 0, "only_generated": 1, "acl": 2, "plains": 2,
                        "moods": 2, "pairs": 1, "binary_ok": 1}.items():
        assert count(shifted_target, table) == rows, table
    with psycopg.connect(shifted_target) as conn:
        assert conn.execute("SELECT p::text, ps::text FROM pairs").fetchone() == ("(busy,2)", '{"(calm,1)"}')
        assert conn.execute("SELECT g FROM only_generated").fetchone() == (7,)


def test_psql_errors_show_the_message_not_the_caret(source_pg):
    stderr = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", source_pg.url(), "-c", 'COPY "x" () FROM STDIN'],
        capture_output=True, text=True, check=False,
    ).stderr
    assert "^" in stderr  # what psql prints: ERROR, the statement echo, a caret under the position
    message = psql_message(stderr)
    assert message.startswith("ERROR:") and "syntax error" in message
    assert "^" not in message and "LINE 1" not in message


PICKY = """
-- A check whose function reads a session setting: true where the rows were written, false on any copy.
CREATE FUNCTION flag_on(int) RETURNS bool IMMUTABLE LANGUAGE sql
    AS $$ SELECT coalesce(current_setting('app.flag', true), '') = 'on' $$;
CREATE TABLE picky (v int CHECK (flag_on(v)));
SET app.flag = 'on';
INSERT INTO picky VALUES (1);
"""


def test_a_resume_that_meets_the_same_error_says_so(run_cli, source_pg, empty_target, tmp_path):
    source = source_pg.createdb(f"picky_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(PICKY)
    args = migrate_cli.args(*migrate_cli.postgres(source, empty_target))
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 3, first.stderr
    assert "violates check constraint" in first.stderr and "same error" not in first.stderr
    assert "\n^" not in first.stderr and " ^ " not in first.stderr
    again = run_cli(*args, "--resume", cwd=tmp_path)
    assert again.returncode == 3, again.stderr
    assert "violates check constraint" in again.stderr and "same error" in again.stderr


def test_the_text_copy_check_runs_without_jit(source_pg):
    # Its recursive walk is estimated far too big: with JIT on, compiling it took 1.1-1.7 s over 530 tables,
    # running it 60 ms.
    from billingops.transfer.postgres import copyformat

    class Spy:
        def __init__(self, conn):
            self.conn, self.jit_during_walk = conn, None

        def transaction(self):
            return self.conn.transaction()

        def execute(self, query, params=None):
            if query is copyformat._REASONS:
                self.jit_during_walk = self.conn.execute("SHOW jit").fetchone()[0]
            return self.conn.execute(query, params)

    with psycopg.connect(source_pg.url(), autocommit=True, options="-c jit=on -c jit_above_cost=0") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS jit_probe (id int, tags text[])")
        oid = conn.execute("SELECT 'jit_probe'::regclass::oid").fetchone()[0]
        spy = Spy(conn)
        assert copyformat.text_copy_reasons(spy, [oid]) == {}
        assert spy.jit_during_walk == "off"
        assert conn.execute("SHOW jit").fetchone()[0] == "on"  # only for the walk: the session keeps its own
        conn.execute("DROP TABLE jit_probe")
