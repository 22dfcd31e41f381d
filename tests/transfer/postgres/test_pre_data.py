"""The pre-data schema sent as one SQL string (transfer/postgres/pre_data.py) against two real PostgreSQL servers:
it creates what `pg_restore --single-transaction --dbname` creates, object by object; a failure leaves nothing
and names the entry; skipped entries stay out; a script that is not all SQL goes in through pg_restore."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from billingops.errors import ExternalError
from billingops.transfer.postgres import pre_data
from billingops.transfer.postgres import schema as postgres_schema
from billingops.transfer.postgres.conn import PgEndpoint

# What billing_schema.sql lacks: range and composite types, list/hash/default partitions two levels deep,
# inheritance, a rule, a view WITH CHECK OPTION, SQL and plpgsql bodies holding quotes, percent signs,
# semicolons and backslashes, a sequence OWNED BY a column, names with spaces, quotes and a line break.
RICH_SQL = r"""
CREATE SCHEMA "Odd Schema";
CREATE TYPE billing.period AS RANGE (subtype = timestamptz);
CREATE TYPE billing.address AS (street text, zip varchar(10), country char(2));
COMMENT ON TYPE billing.address IS 'it''s a composite; 100% of it';
CREATE TABLE billing.usage (
    id bigint NOT NULL, region text NOT NULL, tenant int NOT NULL, at billing.period,
    addr billing.address, note text DEFAULT 'a;b' CHECK (note <> E'\\')
) PARTITION BY LIST (region);
CREATE TABLE billing.usage_eu PARTITION OF billing.usage FOR VALUES IN ('eu') PARTITION BY HASH (tenant);
CREATE TABLE billing.usage_eu_0 PARTITION OF billing.usage_eu FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE billing.usage_eu_1 PARTITION OF billing.usage_eu FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE billing.usage_other PARTITION OF billing.usage DEFAULT;
CREATE TABLE billing.base (id int, kind text);
CREATE TABLE billing.child (extra text) INHERITS (billing.base);
CREATE SEQUENCE billing.child_seq OWNED BY billing.child.id;
ALTER TABLE billing.child ALTER COLUMN id SET DEFAULT nextval('billing.child_seq');
CREATE RULE base_no_delete AS ON DELETE TO billing.base DO INSTEAD NOTHING;
CREATE VIEW billing.eu_usage AS SELECT * FROM billing.usage WHERE region = 'eu' WITH CHECK OPTION;
CREATE FUNCTION billing.fmt(x numeric) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT format('%s %%; ''%s''', x, E'\\t')
$f$;
CREATE FUNCTION billing.bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.note := coalesce(NEW.note, '') || ';'; RETURN NEW; END $$;
CREATE TABLE "Odd Schema"."Table ""q"" x" ("Col 1" int, "line
break" text);
COMMENT ON COLUMN "Odd Schema"."Table ""q"" x"."Col 1" IS E'multi\nline -- comment';
CREATE UNLOGGED TABLE public.scratch (k text);
"""

# Every kind of object the pre-data section creates, with its definition: equal on both targets.
FINGERPRINT = """
SELECT 'class', format('%s.%s', n.nspname, c.relname), c.relkind::text, c.relpersistence::text,
       coalesce(pg_get_expr(c.relpartbound, c.oid), ''), coalesce(obj_description(c.oid), ''),
       (SELECT string_agg(format('%s %s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod),
                                 a.attnotnull, a.attgenerated, pg_get_expr(d.adbin, d.adrelid)), ', '
                          ORDER BY a.attnum)
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'type', format('%s.%s', n.nspname, t.typname), t.typtype::text, format_type(t.typbasetype, t.typtypmod),
       coalesce(obj_description(t.oid), ''), '', ''
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'proc', p.oid::regprocedure::text, pg_get_functiondef(p.oid), '', '', '', ''
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'constraint', conname, conrelid::regclass::text, pg_get_constraintdef(oid), '', '', ''
FROM pg_constraint WHERE connamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT 'view', v.oid::regclass::text, pg_get_viewdef(v.oid), '', '', '', ''
FROM pg_class v WHERE v.relkind IN ('v', 'm')
  AND v.relnamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT 'rule', rulename, ev_class::regclass::text, pg_get_ruledef(oid), '', '', ''
FROM pg_rewrite WHERE rulename <> '_RETURN' AND ev_class >= 16384
UNION ALL
SELECT 'sequence', format('%s.%s', schemaname, sequencename), data_type::text,
       format('%s %s %s %s %s', start_value, min_value, max_value, increment_by, cycle), '', '', ''
FROM pg_sequences
UNION ALL
SELECT 'depend', classid::regclass::text, objid::regclass::text, refobjid::regclass::text, deptype::text,
       '', ''
FROM pg_depend WHERE classid = 'pg_class'::regclass AND refclassid = 'pg_class'::regclass
  AND deptype IN ('a', 'i') AND objid >= 16384 AND objid::regclass::text NOT LIKE 'pg\\_toast.%'
UNION ALL
SELECT 'comment', classoid::regclass::text, objsubid::text, description, '', '', ''
FROM pg_description WHERE objoid >= 16384
UNION ALL
SELECT 'schema', nspname, coalesce(obj_description(oid), ''), '', '', '', '' FROM pg_namespace
UNION ALL
SELECT 'extension', extname, extversion, '', '', '', '' FROM pg_extension
UNION ALL
SELECT 'event trigger', evtname, '', '', '', '', '' FROM pg_event_trigger
ORDER BY 1, 2, 3, 4, 5
"""


def fingerprint(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(FINGERPRINT).fetchall()


def schema_text(url: str) -> str:
    """pg_dump's own rendering of the schema (without owners and grants, which the restore leaves out)."""
    return subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-acl", "--no-publications",
                           "--no-subscriptions", "--restrict-key=fixed", "-d", url],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def rich_source(source_pg) -> str:
    """billing_schema.sql plus the object kinds it lacks (RICH_SQL)."""
    from tests.support.transfer_servers import SCHEMA_SQL, psql_file

    url = source_pg.createdb("pre_data_rich")
    psql_file(url, SCHEMA_SQL)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RICH_SQL)
    return url


@pytest.fixture(scope="module")
def rich_dump(rich_source, tmp_path_factory) -> Path:
    return postgres_schema.dump_schema(PgEndpoint(rich_source, "source"), tmp_path_factory.mktemp("dump"))


def _no_pg_restore_into_the_target(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("pre-data went in through pg_restore --dbname, not as one SQL string")

    monkeypatch.setattr(pre_data, "_pg_restore", refuse)


@pytest.mark.parametrize("chunk_bytes", [None, 1000])
def test_one_string_creates_what_pg_restore_creates(rich_dump, target_pg, tmp_path, monkeypatch, chunk_bytes):
    if chunk_bytes:  # a huge schema's few strings, here about 20
        monkeypatch.setattr(pre_data, "CHUNK_BYTES", chunk_bytes)
    reference, restored = target_pg.createdb("pre_data_ref"), target_pg.createdb("pre_data_new")
    listfile, _ = postgres_schema.toc_list(rich_dump, tmp_path, "pre-data")
    pre_data._pg_restore(PgEndpoint(reference, "target"), rich_dump, listfile)  # what the restore did before
    _no_pg_restore_into_the_target(monkeypatch)

    skipped = postgres_schema.restore_pre_data(PgEndpoint(restored, "target"), rich_dump, tmp_path)

    expected = fingerprint(reference)
    assert {row[0] for row in expected} >= {"class", "type", "proc", "view", "sequence", "comment", "depend"}
    assert [r for r in expected if r[1] == "billing.usage_eu_1"], "the nested partition was not created"
    assert fingerprint(restored) == expected
    assert schema_text(restored) == schema_text(reference)
    assert skipped == []  # event triggers and publications are post-data entries (and skipped there)


def test_entries_left_out_of_the_list_stay_out(rich_dump, empty_target, tmp_path, monkeypatch):
    """toc_list comments out the entries a managed server must not get: the script honours the list."""
    _no_pg_restore_into_the_target(monkeypatch)
    listfile, _ = postgres_schema.toc_list(rich_dump, tmp_path, "pre-data")
    lines = listfile.read_text().splitlines()
    listfile.write_text("\n".join(";" + line if line.endswith(" TABLE public scratch postgres") else line
                                  for line in lines) + "\n")

    pre_data.restore(PgEndpoint(empty_target, "target"), rich_dump, listfile, tmp_path)

    script = (tmp_path / "pre-data.sql").read_text()
    assert "CREATE UNLOGGED TABLE public.scratch" not in script
    assert "CREATE EVENT TRIGGER" not in script and "OWNER TO" not in script and "GRANT " not in script
    with psycopg.connect(empty_target) as conn:
        assert conn.execute("SELECT to_regclass('public.scratch') IS NULL, to_regclass('public.counters') "
                            "IS NOT NULL, count(*) = 0 FROM pg_event_trigger").fetchone() == (True, True, True)


def _user_objects(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT 'class', relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "UNION ALL SELECT 'schema', nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
            "UNION ALL SELECT 'type', typname FROM pg_type WHERE oid >= 16384 "
            "UNION ALL SELECT 'proc', proname FROM pg_proc WHERE oid >= 16384 ORDER BY 1, 2").fetchall()


def test_a_failing_statement_leaves_nothing_and_names_the_entry(rich_dump, empty_target, tmp_path):
    # A table already there under the name of the source's last table: the script fails near its end.
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.scratch (already int)")
    before = _user_objects(empty_target)

    with pytest.raises(ExternalError) as err:
        postgres_schema.restore_pre_data(PgEndpoint(empty_target, "target"), rich_dump, tmp_path)

    message = err.value.message
    assert 'failed at TABLE "public.scratch": ' in message, message
    assert 'relation "scratch" already exists' in message and "Nothing was created" in message
    assert "Traceback" not in message and "pg-test-pw" not in message and "CREATE TABLE" not in message
    assert "--resume" in err.value.hint
    assert _user_objects(empty_target) == before  # neither the script nor pg_restore's replay left anything


@pytest.mark.parametrize("chunk_bytes", [None, 2000])
def test_the_script_alone_rolls_back(rich_dump, empty_target, tmp_path, monkeypatch, chunk_bytes):
    """In one string or in many (a huge schema), one transaction: what the first strings created goes too."""
    if chunk_bytes:
        monkeypatch.setattr(pre_data, "CHUNK_BYTES", chunk_bytes)
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.scratch (already int)")
    before = _user_objects(empty_target)
    listfile, _ = postgres_schema.toc_list(rich_dump, tmp_path, "pre-data")
    script = pre_data._script(rich_dump, listfile, tmp_path)
    assert script is not None and b"\\restrict" not in script
    chunks = pre_data._chunks(script)
    if chunk_bytes is None:
        assert len(chunks) == 1
    else:  # the failing entry comes strings after the first ones, which ran
        assert len(chunks) > 3 and b"TABLE public.scratch" not in chunks[0] + chunks[1]

    failure = pre_data._send(PgEndpoint(empty_target, "target"), script)

    assert failure is not None and 'relation "scratch" already exists' in failure
    assert _user_objects(empty_target) == before
    with psycopg.connect(empty_target) as conn:  # nothing waits on a lock the failed session kept
        assert conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] == 0


def test_a_line_starting_with_a_backslash_goes_through_pg_restore(source_pg, empty_target, tmp_path, monkeypatch):
    source = source_pg.createdb("pre_data_backslash")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION public.slash() RETURNS text LANGUAGE sql AS $$SELECT 'a\n\\connect b'$$")
    dump = postgres_schema.dump_schema(PgEndpoint(source, "source"), tmp_path)
    sent = []
    monkeypatch.setattr(pre_data, "_send", lambda target, script: sent.append(script))

    postgres_schema.restore_pre_data(PgEndpoint(empty_target, "target"), dump, tmp_path)

    assert not sent
    with psycopg.connect(empty_target) as conn:
        assert conn.execute("SELECT public.slash()").fetchone()[0] == "a\n\\connect b"


def test_a_latin1_source_keeps_its_text(source_pg, empty_target, tmp_path, monkeypatch):
    """The script is in the source's encoding; the server decodes a query string in the encoding in force
    when it arrives, so the one string must not go in as UTF-8. (ASCII names: `pg_restore --list` of a
    LATIN1 name does not decode as UTF-8 in toc_list, before this module.)"""
    with psycopg.connect(source_pg.url(), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "pre_data_latin1"')
        conn.execute("CREATE DATABASE pre_data_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
                     "TEMPLATE template0")
    source = source_pg.url("pre_data_latin1")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.sizes (measure text DEFAULT 'Fuß')")
        conn.execute("COMMENT ON TABLE public.sizes IS 'Größe in Fuß'")
    dump = postgres_schema.dump_schema(PgEndpoint(source, "source"), tmp_path)
    _no_pg_restore_into_the_target(monkeypatch)

    postgres_schema.restore_pre_data(PgEndpoint(empty_target, "target"), dump, tmp_path)

    with psycopg.connect(empty_target) as conn:
        assert conn.execute("SELECT obj_description('public.sizes'::regclass), pg_get_expr(adbin, adrelid) "
                            "FROM pg_attrdef WHERE adrelid = 'public.sizes'::regclass").fetchone() == (
            "Größe in Fuß", "'Fuß'::text")
