"""Per object kind: how many the source holds, and whether a cloud move carries it (and how) or skips it (and
why). The dry run prints this table; the JSON holds it under `object_kinds`, the skipped ones under `skipped`.

What is carried and what is not, decided once here:
- the schema as `pg_dump --schema-only` writes it (tables, partitions, views, functions, types, constraints,
  indexes, triggers, rules, policies, comments, extensions...), the rows, sequence positions, materialized view
  contents (refreshed), large objects with their owner, comment and privileges;
- not owners and grants of schema objects (`--no-owner --no-acl`): managed servers' superuser roles differ
  between clouds (rds_superuser, cloudsqlsuperuser) and cannot take each other's ownership; the target's
  roles and grants come from its terraform and migrations. Default privileges (ALTER DEFAULT PRIVILEGES) are
  grants too, skipped for the same reason;
- not publications and subscriptions: they tie the database to the old server's replication (a subscription
  copied would start pulling from the source); set replication up anew on the target;
- not event triggers: creating them needs a superuser, which managed targets do not give;
- not security labels (a label provider is a server module) nor roles (they belong to the cluster).
"""

# ruff: noqa: S608  # every query here is built from this module's constants, never from input

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_USER_NS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
    "AND n.nspname NOT LIKE 'pg\\_temp%'"
)


def _not_extension(catalog: str, alias: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass AND d.objid = {alias}.oid "  # nosec B608
        "AND d.deptype = 'e')"
    )


def _relations(kinds: str, extra: str = "") -> str:
    return (
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "  # nosec B608  # noqa: S608  # constants
        f"WHERE c.relkind IN ({kinds}) AND {_USER_NS} AND {_not_extension('pg_class', 'c')}{extra}"
    )


@dataclass(frozen=True)
class Kind:
    name: str
    count_sql: str
    carried: bool
    how: str


KINDS = [
    Kind("schemas", "SELECT count(*) FROM pg_namespace n WHERE " + _USER_NS, True, "pg_dump schema"),  # nosec B608
    Kind("tables", _relations("'r', 'p'", " AND NOT c.relispartition"), True, "pg_dump schema + COPY"),
    Kind("partitions", _relations("'r', 'p'", " AND c.relispartition"), True, "pg_dump schema + COPY"),
    Kind("views", _relations("'v'"), True, "pg_dump schema"),
    Kind("materialized views", _relations("'m'"), True, "pg_dump schema, then REFRESH"),
    Kind("indexes", _relations("'i', 'I'"), True, "pg_dump post-data, built per table"),
    Kind("sequences", _relations("'S'"), True, "pg_dump schema, positions set after the copy"),
    Kind("foreign tables", _relations("'f'"), True, "pg_dump schema (no rows: they live elsewhere)"),
    Kind(
        "functions and procedures",
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE "  # nosec B608
        + _USER_NS + " AND " + _not_extension("pg_proc", "p"),
        True, "pg_dump schema",
    ),
    Kind(
        "types and domains",
        "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE " + _USER_NS  # nosec B608
        + " AND (t.typtype IN ('b', 'd', 'e', 'r', 'm') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class k "  # nosec B608
        "WHERE k.oid = t.typrelid AND k.relkind = 'c'))) AND t.typelem = 0 AND " + _not_extension("pg_type", "t"),
        True, "pg_dump schema",
    ),
    Kind(
        "constraints",
        "SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE " + _USER_NS,  # nosec B608
        True, "pg_dump schema (foreign keys as soon as both tables are in; NOT VALID ones stay NOT VALID)",
    ),
    Kind(
        "triggers", "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal", True, "pg_dump post-data",
    ),
    Kind(
        "rules", "SELECT count(*) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n "  # nosec B608
        "ON n.oid = c.relnamespace WHERE r.rulename <> '_RETURN' AND " + _USER_NS, True, "pg_dump post-data",
    ),
    Kind("row security policies", "SELECT count(*) FROM pg_policy", True, "pg_dump schema"),
    Kind(
        "statistics objects", "SELECT count(*) FROM pg_statistic_ext s JOIN pg_namespace n "  # nosec B608
        "ON n.oid = s.stxnamespace WHERE " + _USER_NS, True, "pg_dump post-data",
    ),
    Kind(
        "comments", "SELECT count(*) FROM pg_description WHERE objoid >= 16384", True,
        "pg_dump schema; large objects' comments copied with them",
    ),
    Kind(
        "extensions", "SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql'", True,
        "CREATE EXTENSION from the target's own packages (must be available there)",
    ),
    Kind("large objects", "SELECT count(*) FROM pg_largeobject_metadata", True,
         "copied with OID, owner, comment and privileges"),
    Kind(
        "owners and grants", "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "  # nosec B608
        "WHERE c.relacl IS NOT NULL AND " + _USER_NS, False,
        "every object belongs to the target user (--no-owner --no-acl): managed superuser roles differ between "
        "clouds; grant with the target's terraform/migrations",
    ),
    Kind(
        "default privileges", "SELECT count(*) FROM pg_default_acl", False,
        "grants for future objects name roles of the old server: recreate with the target's roles",
    ),
    Kind(
        "publications", "SELECT count(*) FROM pg_publication", False,
        "replication from the old server: set up logical replication anew on the target",
    ),
    Kind(
        "subscriptions",
        "SELECT count(*) FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())", False,
        "a copied subscription would pull from its publisher again: recreate it on purpose",
    ),
    Kind(
        "event triggers", "SELECT count(*) FROM pg_event_trigger", False,
        "need a superuser, which managed targets do not give",
    ),
    Kind(
        "security labels", "SELECT count(*) FROM pg_seclabel", False,
        "a label provider is a server module the target does not have",
    ),
]

DEFAULT_PRIVILEGES = """
SELECT format('for role %s%s on %s', pg_get_userbyid(d.defaclrole),
              coalesce(' in schema ' || quote_ident(n.nspname), ''),
              CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                   WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END)
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
ORDER BY 1
"""
# Every kind's count as one select list (a column per kind, in KINDS order): one round trip, not one per kind.
COUNTS = ",\n".join(f"({kind.count_sql})" for kind in KINDS)


def counts_from(values: Any) -> dict[str, int]:
    """{kind: how many the database holds} from the COUNTS columns."""
    return {kind.name: int(value) for kind, value in zip(KINDS, values, strict=True)}


def describe(counts: dict[str, int]) -> list[dict[str, Any]]:
    """The table the plan shows: kind, count, carried or skipped, how or why."""
    return [
        {"kind": k.name, "count": counts.get(k.name, 0), "carried": k.carried, "how" if k.carried else "why": k.how}
        for k in KINDS
    ]


SKIP_REASONS = {k.name.replace(" ", "_"): k.how for k in KINDS if not k.carried}
