"""The per-row hash that `full` verification sums over a table, chosen per column from the source's types.

Hashing every row's text form (`hashtextextended(row::text, 0)`) runs each type's output function on every
value: on numeric, timestamptz and jsonb that is most of the verification's CPU. PostgreSQL 14+ hashes a row
directly (`hash_record_extended`), each column with its type's extended hash function, about 3x faster here.
A type's hash is only used where equal hashes mean the same value as its text form would show; every other
column is hashed through its text form, inside the same row hash:

- used as is: bool, int2/4/8, oid, bytea, date, time, timestamp, timestamptz, uuid; text, varchar and
  char(n) under a deterministic collation (their hash is then the bytes'; char(n) ignores trailing blanks,
  as char comparison does); numeric with a declared scale (the column's typmod fixes the scale, so 1.0 and
  1.00 cannot both be stored); float4/float8 by value (+0 and -0 hash alike, all NaNs alike); jsonb by
  value (jsonb already normalizes key order and duplicates; a number inside it hashes by numeric value).
  Domains follow their base type.
- through text: enums (their hash is the label's OID, which differs between servers), unconstrained
  numeric (1.0 and 1.00 hash alike), interval ('1 day' and '24 hours' hash alike), text under a
  nondeterministic collation (hashed as bytes, collation "C"), arrays (their hash ignores dimensions),
  and every type without an extended hash or not listed above: json, xml, money, geometric types,
  composites, ranges, extension types such as citext (whose hash ignores case).

hash_record_extended combines column hashes linearly (h = 31*h + column), so a sum over rows would be a
weighted sum of per-column sums and miss values swapped between rows: each row hash is mixed once more
with hashint8extended before it is summed. Both servers run the same expression, built from the source's
catalog; a target column of another type then hashes differently and fails, as it should.
"""

from __future__ import annotations

import logging
from typing import Any

from billingops.transfer.postgres.inspect import TableInfo, quote_ident

log = logging.getLogger(__name__)

ROW_HASH_VERSION = 140000  # hash_record_extended

# Built-in type OIDs are fixed across servers and versions.
_HASHED_AS_IS = {
    16,  # bool
    17,  # bytea
    20,  # int8
    21,  # int2
    23,  # int4
    26,  # oid
    700,  # float4
    701,  # float8
    1082,  # date
    1083,  # time
    1114,  # timestamp
    1184,  # timestamptz
    2950,  # uuid
    3802,  # jsonb
}
_COLLATABLE = {25, 1042, 1043}  # text, bpchar, varchar
_NUMERIC = 1700

_COLUMNS = """
SELECT u.i, a.attname, t.typtype, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END,
       CASE WHEN t.typtype = 'd' THEN (SELECT b.typtype FROM pg_type b WHERE b.oid = t.typbasetype) END,
       CASE WHEN a.atttypmod >= 0 THEN a.atttypmod ELSE t.typtypmod END,
       coalesce(c.collisdeterministic, true)
FROM unnest(%s::text[]) WITH ORDINALITY AS u(q, i)
JOIN pg_attribute a ON a.attrelid = to_regclass(u.q)
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_collation c ON c.oid = a.attcollation
WHERE a.attnum > 0 AND NOT a.attisdropped
"""


def row_hash_supported(*conns: Any) -> bool:
    """True when every server has hash_record_extended."""
    return all(int(c.execute("SHOW server_version_num").fetchone()[0]) >= ROW_HASH_VERSION for c in conns)


def column_expression(
    name: str, typtype: str, base: int, base_typtype: str | None, typmod: int, deterministic: bool
) -> str:
    """The select-list expression hashing column `name` faithfully (see the module docstring)."""
    column = quote_ident(name)
    if typtype == "d" and base_typtype != "b":
        return f"{column}::text"  # a domain over a domain, enum, composite...: the text form
    if base in _HASHED_AS_IS or (base == _NUMERIC and typmod >= 0):
        return column
    if base in _COLLATABLE:
        return column if deterministic else f'({column}::text COLLATE "C")'
    return f"{column}::text"


def select_list(conn: Any, table: TableInfo) -> list[str]:
    """Per copied column of `table`, its hashed expression, read from this (the source's) catalog."""
    return select_lists(conn, [table])[table.key]


def select_lists(conn: Any, tables: list[TableInfo]) -> dict[str, list[str]]:
    """select_list() of every table, in one query (one per table was a round trip each over hundreds)."""
    found: list[dict[str, str]] = [{} for _ in tables]
    for i, *column in conn.execute(_COLUMNS, ([t.qualified() for t in tables],)).fetchall():
        name, typtype, base, base_typtype, typmod, deterministic = column
        found[int(i) - 1][name] = column_expression(name, typtype, int(base), base_typtype, int(typmod),
                                                    bool(deterministic))
    # A column the catalog did not return (table gone since the inventory) is hashed as text: the table's
    # own check then reports what is wrong.
    return {t.key: [exprs.get(c, f"{quote_ident(c)}::text") for c in t.columns]
            for t, exprs in zip(tables, found, strict=True)}


# The names the checksum query gives its subquery and the subquery's columns. Every column is renamed to
# COLUMN_ALIAS.format(position), so the subquery's own namespace holds only generated names: a user column
# (`r`, `row`, `"_billingops_row"`...) can never shadow the whole-row reference, whatever it is called.
ROW_ALIAS = '"_billingops_row"'
COLUMN_ALIAS = '"_billingops_c{}"'


def aliased(expressions: list[str]) -> str:
    """The subquery's select list: each expression under its own generated, quoted name."""
    return ", ".join(f"{expr} AS {COLUMN_ALIAS.format(i)}" for i, expr in enumerate(expressions))


def sum_expression(row_hash: bool) -> str:
    """The aggregate over subquery ROW_ALIAS: a row's hash is mixed, then summed (a sum, so duplicates
    count)."""
    if row_hash:
        return f"coalesce(sum(hashint8extended(hash_record_extended({ROW_ALIAS}, 0), 0)), 0)"
    return f"coalesce(sum(hashtextextended({ROW_ALIAS}::text, 0)), 0)"
