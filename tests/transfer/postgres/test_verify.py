"""Verification must catch what a copy gets wrong: changed, missing or extra rows, sequences, blobs."""

from __future__ import annotations

import json

import psycopg
import pytest

from billingops.transfer.postgres import verify as postgres_verify
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import inspect

pytestmark = pytest.mark.slow


@pytest.fixture
def copied(run_cli, billing_source, empty_target):
    result = run_cli(
        "migrate-cloud",
        "aws",
        "gcp",
        "--env",
        "prod",
        "--only",
        "postgres",
        "--source-postgres",
        billing_source,
        "--target-postgres",
        empty_target,
        "--json",
        "--no-lock",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"]
    source, target = PgEndpoint(billing_source, "source"), PgEndpoint(empty_target, "target")
    with source.connect() as conn:
        tables = inspect(conn).tables
    return source, target, tables


def change(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_a_corrupted_row_fails_full_but_not_counts(copied):
    source, target, tables = copied
    assert postgres_verify.verify(source, target, tables, mode="full", jobs=2).ok
    change(target.url, "UPDATE billing.payments SET method = 'tampered' WHERE id = 5")
    report = postgres_verify.verify(source, target, tables, mode="full", jobs=2)
    assert not report.ok and report.failed_tables == ["billing.payments"]
    row = next(t for t in report.to_dict()["tables"] if t["table"] == "billing.payments")
    assert row["checksum"] == "MISMATCH" and row["source_rows"] == row["target_rows"]
    assert postgres_verify.verify(source, target, tables, mode="counts", jobs=2).ok  # counts cannot see it


def test_a_swapped_value_between_rows_is_caught(copied):
    source, target, tables = copied
    # Same multiset of values per column, different rows: per-column sums would miss it; row hashes do not.
    change(target.url, "UPDATE public.counters SET value = CASE name WHEN 'invoices' THEN -1 ELSE 60000 END")
    assert postgres_verify.verify(source, target, tables, mode="full", jobs=1).failed_tables == ["public.counters"]


def test_missing_and_duplicated_rows_fail(copied):
    source, target, tables = copied
    change(target.url, "DELETE FROM audit.events WHERE ctid = (SELECT min(ctid) FROM audit.events)")
    report = postgres_verify.verify(source, target, tables, mode="counts", jobs=2)
    assert report.failed_tables == ["audit.events"]
    # The row comes back twice instead of once: counts fail no more, the checksum still does.
    change(target.url, "INSERT INTO audit.events SELECT * FROM audit.events WHERE action = 'INSERT' LIMIT 2")
    report = postgres_verify.verify(source, target, tables, mode="full", jobs=2)
    assert "audit.events" in report.failed_tables


def test_a_missing_table_never_counts_as_a_match(copied):
    source, target, tables = copied
    change(target.url, "DROP TABLE public.counters")
    report = postgres_verify.verify(source, target, tables, mode="full", jobs=2)
    check = next(t for t in report.tables if t.table == "public.counters")
    assert not report.ok and check.target_rows is None and "missing" in check.error


def test_sequences_and_large_objects_are_compared(copied):
    source, target, tables = copied
    change(target.url, "SELECT setval('billing.invoice_number_seq', 1)")
    change(target.url, "SELECT lo_put(424242, 0, '\\x00'::bytea)")
    report = postgres_verify.verify(source, target, tables, mode="full", jobs=2)
    assert not report.ok
    assert report.sequence_mismatches == ["billing.invoice_number_seq: source 4242, target 1"]
    assert report.large_object_mismatches == ["large object 424242: content differs"]
    assert not report.failed_tables


# -- the row hash: each column hashed faithfully, by its type's hash or by its text form ----------------------
TYPED_TABLE = """
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE COLLATION IF NOT EXISTS caseless (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN amount AS numeric(12, 2);
CREATE TABLE typed (id int PRIMARY KEY, loose numeric, fixed numeric(10, 3), due amount, span interval,
    doc json, body jsonb, mood mood, tags int[], name text COLLATE caseless, spot point, price money,
    at timestamptz, ok bool, ratio float8, blob bytea);
INSERT INTO typed SELECT g, 1.0, 2.5, 3.25, interval '1 day', '{"a": 1, "b": 2}', '{"k": [1, 2]}', 'calm',
    ARRAY[1, 2, 3, 4], 'Name', point(1, 2), 9.99, timestamptz '2026-01-01 10:00+00', true, 0.5, '\\x0102'
    FROM generate_series(1, 50) g;
"""


@pytest.fixture
def typed_pair(source_pg, target_pg):
    import uuid

    suffix = uuid.uuid4().hex[:8]
    src, dst = source_pg.createdb(f"s_{suffix}"), target_pg.createdb(f"t_{suffix}")
    # Another enum first on the target: its labels get other OIDs than the source's, as after a real copy.
    change(dst, "CREATE TYPE shifted AS ENUM ('x', 'y', 'z')")
    for url in (src, dst):
        change(url, TYPED_TABLE)
    source, target = PgEndpoint(src, "source"), PgEndpoint(dst, "target")
    with source.connect() as conn:
        tables = inspect(conn).tables
    return source, target, tables


def test_type_hashes_are_used_only_where_faithful(typed_pair):
    from billingops.transfer.postgres import checksum as postgres_checksum
    source, _, tables = typed_pair
    with source.connect() as conn:
        exprs = dict(zip(tables[0].columns, postgres_checksum.select_list(conn, tables[0]), strict=True))
    as_is = {"id", "fixed", "due", "body", "at", "ok", "ratio", "blob"}
    assert {c for c, e in exprs.items() if e == f'"{c}"'} == as_is
    assert exprs["name"] == '("name"::text COLLATE "C")'
    assert all(exprs[c] == f'"{c}"::text' for c in ("loose", "span", "doc", "mood", "tags", "spot", "price"))


def test_equal_data_verifies_although_enum_oids_differ(typed_pair):
    source, target, tables = typed_pair
    report = postgres_verify.verify(source, target, tables, mode="full", jobs=1)
    assert report.ok, report.to_dict()


@pytest.mark.parametrize(
    "tamper",
    [
        "loose = 1.00",  # numeric equality would call it equal
        "fixed = 2.501",
        "due = 3.26",
        "span = interval '24 hours'",  # interval equality would call it equal
        'doc = \'{"b": 2, "a": 1}\'',
        "body = '{\"k\": [2, 1]}'",
        "mood = 'busy'",
        "tags = '{{1,2},{3,4}}'",  # same elements, other dimensions: the array hash ignores them
        "name = 'NAME'",  # equal under the caseless collation
        "spot = point(2, 1)",
        "price = 9.98",
        "at = at + interval '1 microsecond'",
        "ok = false",
        "ratio = 0.25",
        "blob = '\\x0103'",
    ],
)
def test_a_change_in_any_column_type_fails(typed_pair, tamper):
    source, target, tables = typed_pair
    change(target.url, f"UPDATE typed SET {tamper} WHERE id = 7")
    report = postgres_verify.verify(source, target, tables, mode="full", jobs=1)
    assert report.failed_tables == ["public.typed"], tamper


def test_values_swapped_between_rows_fail_the_row_hash(typed_pair):
    # The record hash is linear in its columns: without the extra mix a sum would miss this.
    source, target, tables = typed_pair
    change(target.url, "UPDATE typed SET fixed = CASE id WHEN 1 THEN 7.5 WHEN 2 THEN 2.5 ELSE fixed END")
    change(source.url, "UPDATE typed SET fixed = CASE id WHEN 1 THEN 2.5 WHEN 2 THEN 7.5 ELSE fixed END")
    assert postgres_verify.verify(source, target, tables, mode="full", jobs=1).failed_tables == ["public.typed"]


def test_servers_without_the_row_hash_hash_the_text_form(typed_pair, monkeypatch):
    from billingops.transfer.postgres import checksum as postgres_checksum
    monkeypatch.setattr(postgres_checksum, "ROW_HASH_VERSION", 10_000_000)  # as if a server were before 14
    source, target, tables = typed_pair
    assert not postgres_verify._Hashing.read(source, target, tables).row_hash
    assert postgres_verify.verify(source, target, tables, mode="full", jobs=1).ok
    change(target.url, "UPDATE typed SET span = interval '24 hours' WHERE id = 3")
    assert postgres_verify.verify(source, target, tables, mode="full", jobs=1).failed_tables == ["public.typed"]


def test_small_tables_share_queries_and_an_error_stays_on_its_table(copied, monkeypatch):
    """Small whole tables are checked many to a query; a query that fails is redone table by table, so the
    error lands on the one table it belongs to and the others of its batch still verify."""
    source, target, tables = copied
    batches: list[int] = []
    real = postgres_verify._batch_query

    def batch_query(items, *args):
        batches.append(len(items))
        return real(items, *args)

    monkeypatch.setattr(postgres_verify, "_batch_query", batch_query)
    change(target.url, "ALTER TABLE billing.payments DROP COLUMN method")  # the hashed select list names it
    report = postgres_verify.verify(source, target, tables, mode="full", jobs=1)
    assert batches and max(batches) > 1 and len(batches) < 2 * len(tables)
    assert report.failed_tables == ["billing.payments"]
    check = next(t for t in report.tables if t.table == "billing.payments")
    assert "target" in check.error and "method" in check.error and check.source_rows is not None
