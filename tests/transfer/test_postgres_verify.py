"""Verification must catch what a copy gets wrong: changed, missing or extra rows, sequences, blobs."""

from __future__ import annotations

import json

import psycopg
import pytest

from billingops.transfer import postgres_verify
from billingops.transfer.postgres_conn import PgEndpoint
from billingops.transfer.postgres_inspect import inspect

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
    assert postgres_verify.verify(source, target, tables, mode="full", jobs=1).failed_tables == [
        "public.counters"
    ]


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
