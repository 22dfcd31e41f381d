"""What COPY does not carry: sequence positions (identity columns included) and large objects."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

LO_CHUNK = 1024 * 1024
_SEQUENCES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""


def read_sequences(conn: Any) -> dict[str, tuple[int, bool]]:
    """{qualified name: (last_value, is_called)} read from each sequence itself (pg_sequences hides
    unused ones)."""
    values: dict[str, tuple[int, bool]] = {}
    for (name,) in conn.execute(_SEQUENCES).fetchall():
        # `name` comes from format('%I.%I'): already quoted.
        last_value, is_called = conn.execute(f"SELECT last_value, is_called FROM {name}").fetchone()  # nosec B608  # noqa: S608
        values[name] = (int(last_value), bool(is_called))
    return values


def set_sequences(conn: Any, values: dict[str, tuple[int, bool]]) -> int:
    for name, (last_value, is_called) in values.items():
        conn.execute("SELECT setval(%s::regclass, %s, %s)", (name, last_value, is_called))
    return len(values)


def large_object_ids(conn: Any) -> list[int]:
    return [
        r[0] for r in conn.execute("SELECT oid::bigint FROM pg_largeobject_metadata ORDER BY 1").fetchall()
    ]


def copy_large_objects(source_conn: Any, target_conn: Any) -> int:
    """Copy every large object keeping its OID (applications store the OIDs), in 1 MiB chunks.

    Large objects are rare in billing data and there is no COPY for them, so they go through this process.
    """
    done = set(large_object_ids(target_conn))
    copied = 0
    for oid in large_object_ids(source_conn):
        if oid in done:
            # An interrupted earlier run may have left a partial object behind: start it over.
            target_conn.execute("SELECT lo_unlink(%s)", (oid,))
        target_conn.execute("BEGIN")
        target_conn.execute("SELECT lo_create(%s)", (oid,))
        offset = 0
        while True:
            chunk = source_conn.execute("SELECT lo_get(%s, %s, %s)", (oid, offset, LO_CHUNK)).fetchone()[0]
            if not chunk:
                break
            target_conn.execute("SELECT lo_put(%s, %s, %s)", (oid, offset, bytes(chunk)))
            offset += len(chunk)
            if len(chunk) < LO_CHUNK:
                break
        target_conn.execute("COMMIT")
        copied += 1
    return copied


def large_object_digests(conn: Any) -> dict[int, str]:
    """{oid: md5 of its content}, computed on the server."""
    # pg_largeobject itself is superuser-only on managed servers; lo_get works for the objects' owner.
    rows = conn.execute("SELECT oid::bigint, md5(lo_get(oid)) FROM pg_largeobject_metadata").fetchall()
    return {int(oid): digest or "" for oid, digest in rows}
