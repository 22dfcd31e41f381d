"""Which tables binary COPY cannot carry between two servers, and why: those are copied in text form.

Binary COPY is faster, but it fails or misreads where a column's type, or a type inside it (array element,
composite attribute, domain base, range subtype, multirange range), recursively:

- has no binary send/receive function (built-in `aclitem`, user types created without SEND/RECEIVE):
  COPY fails with "no binary output function available";
- embeds a type OID that differs between servers: an array's binary form carries its element type's OID
  and a composite's carries each attribute's type OID, and the receiving server refuses a value whose OID
  is not its own ("wrong element type"). Built-in OIDs (below 16384) are the same everywhere; user and
  extension types get theirs when created.

Text COPY reads every value through its type's output and input functions, under the fixed session
settings of the copy (postgres_conn.SESSION_SETTINGS), so it carries any type pg_dump can.
"""

from __future__ import annotations

from typing import Any

FIRST_NORMAL_OID = 16384  # OIDs below are assigned at initdb, the same on every server

_REASONS = """
WITH RECURSIVE walk(rel, col, typ, depth) AS (
  -- a join, not `attrelid = ANY(array)`: that is a seq scan of pg_attribute comparing every row with every
  -- element (2.5 s for 530 tables)
  SELECT a.attrelid, a.attname::text, a.atttypid, 0
  FROM unnest(%s::oid[]) AS wanted(oid) JOIN pg_attribute a ON a.attrelid = wanted.oid
  WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
  UNION ALL
  SELECT w.rel, w.col, inner_type.oid, w.depth + 1
  FROM walk w JOIN pg_type t ON t.oid = w.typ
  CROSS JOIN LATERAL (
    SELECT t.typbasetype WHERE t.typtype = 'd'
    UNION ALL SELECT t.typelem WHERE t.typlen = -1 AND t.typelem <> 0
    UNION ALL SELECT a2.atttypid FROM pg_attribute a2
      WHERE t.typtype = 'c' AND a2.attrelid = t.typrelid AND a2.attnum > 0 AND NOT a2.attisdropped
    UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE t.typtype = 'r' AND r.rngtypid = t.oid
    UNION ALL SELECT r.rngtypid FROM pg_range r WHERE t.typtype = 'm' AND r.rngmultitypid = t.oid
  ) AS inner_type(oid)
  WHERE w.depth < 16
)
SELECT w.rel::bigint, w.col, format_type(t.oid, NULL),
       CASE
         WHEN t.typsend::oid = 0 OR t.typreceive::oid = 0 THEN 'has no binary send/receive'
         WHEN t.typlen = -1 AND t.typelem >= %s THEN 'is an array whose binary form embeds its element type OID'
         WHEN t.typtype = 'c' AND EXISTS (
           SELECT 1 FROM pg_attribute a3 WHERE a3.attrelid = t.typrelid AND a3.attnum > 0
             AND NOT a3.attisdropped AND a3.atttypid >= %s)
           THEN 'is a composite whose binary form embeds type OIDs'
       END
FROM walk w JOIN pg_type t ON t.oid = w.typ
ORDER BY w.rel, w.depth DESC  -- the innermost type that needs text: aclitem, not a domain over it
"""


def text_copy_reasons(conn: Any, table_oids: list[int]) -> dict[int, str]:
    """{table oid: why its rows go as text COPY} for the tables among `table_oids` binary COPY cannot carry."""
    if not table_oids:
        return {}
    reasons: dict[int, str] = {}
    with conn.transaction():
        # The recursive walk's row estimate is far too high, which sets off JIT compilation: 1.1-1.7 s to
        # compile a query that runs in 60 ms over 530 tables.
        conn.execute("SET LOCAL jit = off")
        rows = conn.execute(_REASONS, (table_oids, FIRST_NORMAL_OID, FIRST_NORMAL_OID)).fetchall()
    for rel, column, type_name, reason in rows:
        if reason and int(rel) not in reasons:
            reasons[int(rel)] = f"column {column}: type {type_name} {reason}"
    return reasons
