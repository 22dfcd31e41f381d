"""What a PostgreSQL database holds, as far as a migration cares: tables to copy, sizes, columns that may be
written, sequences, extensions, roles, large objects, and the objects migrate-cloud reports and skips."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from billingops.transfer.postgres import copyformat, kinds

log = logging.getLogger(__name__)

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
# Extensions every PostgreSQL has; nothing to check for them.
BUILTIN_EXTENSIONS = ("plpgsql",)


@dataclass
class TableInfo:
    schema: str
    name: str
    oid: int
    bytes: int
    pages: int
    est_rows: int
    columns: list[str]  # writable columns: generated ones are computed by the target, not copied
    has_pk: bool
    text_copy: str | None = None  # why binary COPY cannot carry this table (postgres_copyformat); None: binary

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"

    def qualified(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.key,
            "bytes": self.bytes,
            "est_rows": self.est_rows,
            "has_pk": self.has_pk,
            "columns": len(self.columns),
            "copy_format": "text" if self.text_copy else "binary",
            **({"text_copy_reason": self.text_copy} if self.text_copy else {}),
        }


@dataclass
class Inventory:
    server_version: str
    database: str
    user: str
    tables: list[TableInfo] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    large_objects: int = 0
    materialized_views: list[str] = field(default_factory=list)
    event_triggers: list[str] = field(default_factory=list)
    publications: list[str] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    default_privileges: list[str] = field(default_factory=list)
    object_counts: dict[str, int] = field(default_factory=dict)  # per kind (postgres_kinds)

    @property
    def total_bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "server_version": self.server_version,
            "database": self.database,
            "user": self.user,
            "tables": [t.to_dict() for t in self.tables],
            "total_bytes": self.total_bytes,
            "sequences": len(self.sequences),
            "extensions": self.extensions,
            "roles": self.roles,
            "large_objects": self.large_objects,
            "materialized_views": self.materialized_views,
            "skipped": {
                "event_triggers": self.event_triggers,
                "publications": self.publications,
                "subscriptions": self.subscriptions,
                "default_privileges": self.default_privileges,
            },
            "skip_reasons": kinds.SKIP_REASONS,
            "object_kinds": kinds.describe(self.object_counts),
            "text_copy_tables": {t.key: t.text_copy for t in self.tables if t.text_copy},
        }


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Plain tables and leaf partitions hold the rows; partitioned parents hold none of their own.
_TABLES = """
SELECT n.nspname, c.relname, c.oid, pg_relation_size(c.oid),
       (pg_relation_size(c.oid) / current_setting('block_size')::int)::bigint,
       greatest(c.reltuples, 0)::bigint,
       coalesce((SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''),
                '{}'),
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY pg_relation_size(c.oid) DESC, 1, 2
"""

_ROLES = """
SELECT DISTINCT r.rolname FROM (
  SELECT relowner AS id FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  UNION SELECT nspowner FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
  UNION SELECT proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION SELECT (aclexplode(c.relacl)).grantee FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relacl IS NOT NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION SELECT (aclexplode(nspacl)).grantee FROM pg_namespace
   WHERE nspacl IS NOT NULL AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
  UNION SELECT lomowner FROM pg_largeobject_metadata
  UNION SELECT (aclexplode(lomacl)).grantee FROM pg_largeobject_metadata WHERE lomacl IS NOT NULL
) ids JOIN pg_roles r ON r.oid = ids.id
WHERE r.rolname NOT LIKE 'pg\\_%'
ORDER BY 1
"""


# Everything but the tables in one round trip: a query each was ~40 round trips in a row, which add up across a
# distance (40 x 30 ms is 1.2 s before anything moves).
_SUMMARY = f"""
SELECT current_setting('server_version'), current_database()::text, current_user::text,
  ARRAY(SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences ORDER BY 1),
  ARRAY(SELECT extname::text FROM pg_extension WHERE extname <> ALL(ARRAY['plpgsql']) ORDER BY 1),
  ARRAY(SELECT rolname::text FROM ({_ROLES}) AS roles ORDER BY 1),
  (SELECT count(*) FROM pg_largeobject_metadata),
  -- creation order, so a materialized view built on another one is refreshed after it
  ARRAY(SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'm' AND c.relispopulated ORDER BY c.oid),
  ARRAY(SELECT evtname::text FROM pg_event_trigger ORDER BY 1),
  ARRAY(SELECT pubname::text FROM pg_publication ORDER BY 1),
  ARRAY(SELECT subname::text FROM pg_subscription
        WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1),
  ARRAY({kinds.DEFAULT_PRIVILEGES}),
  {kinds.COUNTS}
"""  # nosec B608  # noqa: S608  # built from this module's and kinds' constants, never from input


def inspect(conn: Any) -> Inventory:
    """Read the inventory over an open psycopg connection (any isolation; nothing is written), in a few round
    trips: the tables, the text-COPY check over them, and one summary of everything else."""
    row = conn.execute(_SUMMARY).fetchone()
    inv = Inventory(server_version=row[0], database=row[1], user=row[2])
    (inv.sequences, inv.extensions, inv.roles, inv.large_objects, inv.materialized_views, inv.event_triggers,
     inv.publications, inv.subscriptions, inv.default_privileges) = (
        list(row[3]), list(row[4]), list(row[5]), int(row[6]), list(row[7]), list(row[8]), list(row[9]),
        list(row[10]), list(row[11]))
    inv.object_counts = kinds.counts_from(row[12:])
    for schema, name, oid, size, pages, rows, columns, has_pk in conn.execute(_TABLES).fetchall():
        inv.tables.append(TableInfo(schema, name, oid, size, pages, rows, list(columns), has_pk))
    reasons = copyformat.text_copy_reasons(conn, [t.oid for t in inv.tables])
    for table in inv.tables:
        table.text_copy = reasons.get(table.oid)
    return inv


def user_objects(conn: Any) -> list[str]:
    """Up to ten user objects in the database (empty list: nothing of ours or anyone's is there)."""
    rows = conn.execute("""
        SELECT format('%s %I.%I', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN
          'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' ELSE 'relation' END,
                      n.nspname, c.relname)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT
            LIKE 'pg_temp%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
        UNION ALL SELECT format('function %I.%I', n.nspname, p.proname) FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                           AND d.deptype = 'e')
        UNION ALL SELECT format('schema %I', nspname) FROM pg_namespace
         WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public')
        UNION ALL SELECT 'large object ' || oid FROM pg_largeobject_metadata
        LIMIT 10""").fetchall()
    return [r[0] for r in rows]


def missing_extensions(target_conn: Any, wanted: list[str]) -> list[str]:
    available = {r[0] for r in target_conn.execute("SELECT name FROM pg_available_extensions").fetchall()}
    return [e for e in wanted if e not in available]


def missing_roles(target_conn: Any, wanted: list[str]) -> list[str]:
    present = {r[0] for r in target_conn.execute("SELECT rolname FROM pg_roles").fetchall()}
    return [r for r in wanted if r not in present]
