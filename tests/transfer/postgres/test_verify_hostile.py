"""Full verification cannot be fooled by a user table's names: whatever its columns are called and typed, one
changed value fails the table, on the row-hash path (PostgreSQL 14+) and on the text fallback alike."""

from __future__ import annotations

import itertools
import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billingops.transfer.postgres import checksum as postgres_checksum
from billingops.transfer.postgres import verify as postgres_verify
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import inspect, quote_ident

pytestmark = pytest.mark.slow

# Names a generated alias could have, names PostgreSQL treats specially, and names that need quoting.
# (ctid, xmin... are refused by CREATE TABLE: system columns cannot be shadowed.)
HOSTILE_NAMES = [
    "r", "t", "row", "oid", "R", "Row", "_billingops_row", "_billingops_c0", "_billingops_c1", "select",
    "from", "where", "order", "user", "Mixed Case", 'say "hi"', "semi;colon", "x)", "count", "sum", "value",
]
NAMES = st.one_of(
    st.sampled_from(HOSTILE_NAMES),
    st.text(alphabet="abcR_ \"'();.-$", min_size=1, max_size=12),
)

# type -> SQL expression of a value from an integer seed; seed + 1001 always gives another value.
TYPES = {
    "int": "{n}",
    "bigint": "{n}::bigint * 1000000007",
    "text": "'v' || {n}",
    "varchar(20)": "'w' || {n}",
    "numeric": "{n}.50",
    "numeric(12,2)": "{n}.25",
    "float8": "{n} / 4.0",
    "bool": "({n} % 2 = 0)",
    "bytea": "int4send({n})",
    "date": "date '2020-01-01' + {n}",
    "timestamp": "timestamp '2020-01-01' + {n} * interval '1 hour'",
    "timestamptz": "timestamptz '2020-01-01 00:00+00' + {n} * interval '1 minute'",
    "interval": "{n} * interval '1 minute'",
    "uuid": "md5({n}::text)::uuid",
    "jsonb": "jsonb_build_object('k', {n})",
    "json": "json_build_object('k', {n})",
    "int[]": "ARRAY[{n}, 1]",
    "text[]": "ARRAY['a' || {n}]",
    "point": "point({n}, 1)",
}

TABLES = st.lists(
    st.tuples(NAMES, st.sampled_from(sorted(TYPES))), min_size=1, max_size=5, unique_by=lambda c: c[0]
)
ROWS = st.lists(st.lists(st.one_of(st.none(), st.integers(0, 500)), min_size=5, max_size=5), min_size=1,
                max_size=4)

_counter = itertools.count()


@pytest.fixture(scope="module")
def pair(source_pg, target_pg):
    suffix = uuid.uuid4().hex[:8]
    return PgEndpoint(source_pg.createdb(f"hs_{suffix}"), "source"), PgEndpoint(
        target_pg.createdb(f"ht_{suffix}"), "target"
    )


def _value(type_: str, seed: int | None) -> str:
    return "NULL" if seed is None else f"({TYPES[type_].format(n=seed)})::{type_}"


def _check(pair, columns, rows, changed_row, changed_column):
    source, target = pair
    table = f"tbl {next(_counter)}"
    create = f"CREATE TABLE {quote_ident(table)} (" + ", ".join(
        f"{quote_ident(name)} {type_}" for name, type_ in columns
    ) + ")"
    inserts = [
        f"INSERT INTO {quote_ident(table)} VALUES ("
        + ", ".join(_value(type_, row[i]) for i, (_, type_) in enumerate(columns))
        + ")"
        for row in rows
    ]
    for endpoint in (source, target):
        with psycopg.connect(endpoint.url, autocommit=True) as conn:
            conn.execute(create)
            for insert in inserts:
                conn.execute(insert)
    with source.connect() as conn:
        tables = [t for t in inspect(conn).tables if t.name == table]
    try:
        report = postgres_verify.verify(source, target, tables, mode="full", jobs=1)
        assert report.ok, report.to_dict()
        name, type_ = columns[changed_column % len(columns)]
        seed = rows[changed_row % len(rows)][changed_column % len(columns)]
        new = _value(type_, 7 if seed is None else seed + 1001)
        with psycopg.connect(target.url, autocommit=True) as conn:
            conn.execute(
                f"UPDATE {quote_ident(table)} SET {quote_ident(name)} = {new} "  # noqa: S608  # test data
                f"WHERE ctid = (SELECT ctid FROM {quote_ident(table)} ORDER BY ctid OFFSET {changed_row % len(rows)}"
                " LIMIT 1)"
            )
        report = postgres_verify.verify(source, target, tables, mode="full", jobs=1)
        assert report.failed_tables == [f"public.{table}"], (columns, rows, name, report.to_dict())
        assert report.tables[0].error is None, report.tables[0].error  # caught by the checksum, not an error
    finally:
        for endpoint in (source, target):
            with psycopg.connect(endpoint.url, autocommit=True) as conn:
                conn.execute(f"DROP TABLE {quote_ident(table)}")


@pytest.mark.parametrize("row_hash", [True, False], ids=["row-hash", "text-fallback"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=TABLES, rows=ROWS, changed_row=st.integers(0, 3), changed_column=st.integers(0, 4))
def test_one_changed_value_fails_full_verification(pair, monkeypatch, row_hash, columns, rows, changed_row,
                                                   changed_column):
    if not row_hash:
        monkeypatch.setattr(postgres_checksum, "ROW_HASH_VERSION", 10_000_000)  # as if a server were before 14
    _check(pair, columns, rows, changed_row, changed_column)


@pytest.mark.parametrize("row_hash", [True, False], ids=["row-hash", "text-fallback"])
def test_a_column_named_r_does_not_hide_the_row(pair, monkeypatch, row_hash):
    """The issue's case: a table with a column `r` next to a timestamp column."""
    if not row_hash:
        monkeypatch.setattr(postgres_checksum, "ROW_HASH_VERSION", 10_000_000)
    _check(pair, [("r", "int"), ("at", "timestamp")], [[1, 1, None, None, None], [2, 2, None, None, None]], 1, 1)


def test_generated_names_are_quoted_and_unique():
    select = postgres_checksum.aliased(['"r"', '"r"::text'])
    assert select == '"r" AS "_billingops_c0", "r"::text AS "_billingops_c1"'
    assert postgres_checksum.ROW_ALIAS.startswith('"') and postgres_checksum.ROW_ALIAS != '"r"'
    assert postgres_checksum.ROW_ALIAS in postgres_checksum.sum_expression(True)
