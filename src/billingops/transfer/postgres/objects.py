"""What COPY does not carry: sequence positions (identity columns included) and large objects, with their
owner, comment and access privileges."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

LO_CHUNK = 1024 * 1024
LO_BATCH = 16  # objects per round trip and transaction: at most LO_BATCH x LO_CHUNK bytes held at once
SEQUENCE_BATCH = 200
_SEQUENCES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""


def read_sequences(conn: Any) -> dict[str, tuple[int, bool]]:
    """{qualified name: (last_value, is_called)} read from each sequence itself (pg_sequences hides
    unused ones), SEQUENCE_BATCH sequences a query: one round trip per sequence was 2.5-4 s over ~500."""
    names = [name for (name,) in conn.execute(_SEQUENCES).fetchall()]
    values: dict[str, tuple[int, bool]] = {}
    for start in range(0, len(names), SEQUENCE_BATCH):
        # Each name comes from format('%I.%I'): already quoted; its position in the batch names its row.
        query = " UNION ALL ".join(
            f"SELECT {i}, last_value, is_called FROM {name}"  # nosec B608  # noqa: S608
            for i, name in enumerate(names[start : start + SEQUENCE_BATCH])
        )
        for i, last_value, is_called in conn.execute(query).fetchall():
            values[names[start + i]] = (int(last_value), bool(is_called))
    return values


def set_sequences(conn: Any, values: dict[str, tuple[int, bool]]) -> int:
    """Every sequence in one statement."""
    if values:
        names = list(values)
        conn.execute(
            "SELECT count(setval(name::regclass, last_value, is_called)) "
            "FROM unnest(%s::text[], %s::bigint[], %s::bool[]) AS s(name, last_value, is_called)",
            (names, [values[n][0] for n in names], [values[n][1] for n in names]),
        )
    return len(values)


def large_object_ids(conn: Any) -> list[int]:
    return [
        r[0] for r in conn.execute("SELECT oid::bigint FROM pg_largeobject_metadata ORDER BY 1").fetchall()
    ]


def copy_large_objects(source_conn: Any, target_conn: Any) -> int:
    """Copy every large object keeping its OID (applications store the OIDs), in 1 MiB chunks.

    Large objects are rare in billing data and there is no COPY for them, so they go through this process:
    LO_BATCH objects at a time, their first chunks read in one query (in binary, not as hex text) and written
    in one pipelined transaction, so a batch costs a few round trips instead of six per object.
    """
    source_ids = large_object_ids(source_conn)
    # An interrupted earlier run may have left objects behind: start them over.
    left = sorted(set(large_object_ids(target_conn)) & set(source_ids))
    if left:
        target_conn.execute("SELECT count(lo_unlink(o)) FROM unnest(%s::oid[]) AS u(o)", (left,))
    metadata = _read_metadata(source_conn)
    user = target_conn.execute("SELECT current_user").fetchone()[0]
    for start in range(0, len(source_ids), LO_BATCH):
        heads = source_conn.execute(
            "SELECT u.o::bigint, lo_get(u.o, 0, %s) FROM unnest(%s::oid[]) WITH ORDINALITY AS u(o, i) ORDER BY u.i",
            (LO_CHUNK, source_ids[start : start + LO_BATCH]),
            binary=True,
        ).fetchall()
        with target_conn.pipeline(), target_conn.transaction():
            for oid, head in heads:
                target_conn.execute("SELECT lo_from_bytea(%s, %s)", (oid, bytes(head)))
                chunk, offset = head, len(head)
                while len(chunk) == LO_CHUNK:
                    chunk = source_conn.execute(
                        "SELECT lo_get(%s, %s, %s)", (oid, offset, LO_CHUNK), binary=True
                    ).fetchone()[0]
                    if chunk:
                        target_conn.execute("SELECT lo_put(%s, %s, %s)", (oid, offset, bytes(chunk)))
                    offset += len(chunk)
                _copy_metadata(target_conn, oid, metadata.get(oid), user)
    return len(source_ids)


# Owner, ACL (sorted items, grantor included) and comment of every large object, as text that compares
# across servers: role names, not role OIDs.
_METADATA = """
SELECT m.oid::bigint, pg_get_userbyid(m.lomowner),
       (SELECT string_agg(item::text, ',' ORDER BY item::text) FROM unnest(m.lomacl) item),
       obj_description(m.oid, 'pg_largeobject')
FROM pg_largeobject_metadata m
"""
_GRANTS = """
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, a.privilege_type,
       a.is_grantable
FROM pg_largeobject_metadata m, aclexplode(m.lomacl) a WHERE m.oid = %s
"""


def large_object_metadata(conn: Any) -> dict[int, tuple[str, str | None, str | None]]:
    """{oid: (owner, ACL or None for the default, comment or None)}."""
    return {int(r[0]): (r[1], r[2], r[3]) for r in conn.execute(_METADATA).fetchall()}


def _copy_metadata(target_conn: Any, oid: int, meta: LargeObjectMeta | None, user: str) -> None:
    """Give the new object the source's owner, comment and privileges (inside its creating transaction);
    `user` (the target session's) owns it already."""
    from psycopg import sql

    if meta is None:
        return
    lo = sql.SQL("LARGE OBJECT {}").format(sql.Literal(oid))
    if meta.owner != user:
        target_conn.execute(sql.SQL("ALTER {} OWNER TO {}").format(lo, sql.Identifier(meta.owner)))
    if meta.comment is not None:
        target_conn.execute(sql.SQL("COMMENT ON {} IS {}").format(lo, sql.Literal(meta.comment)))
    if meta.grants is None:
        return  # the default privileges: the owner's, nothing for anyone else
    # An explicit ACL replaces the default one: start from nothing (the owner's own rights included, as the
    # source may have revoked some) and grant what the source lists.
    target_conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(lo, sql.Identifier(meta.owner)))
    for grantee, privilege, grantable in meta.grants:
        target_conn.execute(
            sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege),  # SELECT or UPDATE, from aclexplode
                lo,
                sql.SQL(grantee),  # quote_ident()-ed by the server, or PUBLIC
                sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            )
        )


@dataclass(frozen=True)
class LargeObjectMeta:
    owner: str
    comment: str | None
    grants: list[tuple[str, str, bool]] | None  # None: the default ACL


def _read_metadata(source_conn: Any) -> dict[int, LargeObjectMeta]:
    found: dict[int, LargeObjectMeta] = {}
    for oid, (owner, acl, comment) in large_object_metadata(source_conn).items():
        grants = None
        if acl is not None:
            grants = [(r[0], r[1], bool(r[2])) for r in source_conn.execute(_GRANTS, (oid,)).fetchall()]
        found[oid] = LargeObjectMeta(owner, comment, grants)
    return found


def large_object_digests(conn: Any) -> dict[int, str]:
    """{oid: md5 of its content}, computed on the server."""
    # pg_largeobject itself is superuser-only on managed servers; lo_get works for the objects' owner.
    rows = conn.execute("SELECT oid::bigint, md5(lo_get(oid)) FROM pg_largeobject_metadata").fetchall()
    return {int(oid): digest or "" for oid, digest in rows}
