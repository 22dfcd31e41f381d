"""Compare one key's value on two servers by type, for when DUMP payloads differ.

Two equal sets, hashes or sorted sets can DUMP differently (hashtable/skiplist payloads depend on insertion history,
and a chunked rebuild changes the encoding), so a payload difference is only a mismatch once the values differ.
Collections are read in chunks so a key with hundreds of thousands of members does not need one giant reply.
"""

from __future__ import annotations

import logging

from billingops.transfer.redis_resp import RedisUnavailable, RespConnection, describe_key, is_error

log = logging.getLogger(__name__)

CHUNK = 1000


def differs(src: RespConnection, tgt: RespConnection, key: bytes) -> str | None:
    """None when the values are equal, else a short reason."""
    src_type, tgt_type = _call(src, key, b"TYPE", key), _call(tgt, key, b"TYPE", key)
    if src_type == b"none":
        return None if tgt_type == b"none" else "deleted on the source during verification"
    if tgt_type != src_type:
        return f"type {src_type.decode()} on the source, {tgt_type.decode()} on the target"
    reader = _READERS.get(src_type)
    if reader is None:
        return f"DUMP payloads differ and type {src_type.decode(errors='replace')} cannot be compared by value"
    return None if reader(src, key) == reader(tgt, key) else "value differs"


def _call(conn: RespConnection, key: bytes, *args):
    reply = conn.call(*args)
    if is_error(reply):
        raise RedisUnavailable(f"comparing key {describe_key(key)!r} failed on Redis at {conn.shown}: {reply}",
                               hint="check that the user may read this key (ACL +@read)")
    return reply


def _scan_all(conn: RespConnection, key: bytes, command: bytes) -> list:
    cursor, items = b"0", []
    while True:
        cursor, chunk = _call(conn, key, command, key, cursor, b"COUNT", CHUNK)
        items.extend(chunk)
        if cursor == b"0":
            return items


def _string(conn, key):
    return _call(conn, key, b"GET", key)


def _hash(conn, key):
    items = _scan_all(conn, key, b"HSCAN")
    return dict(zip(items[0::2], items[1::2]))


def _set(conn, key):
    return set(_scan_all(conn, key, b"SSCAN"))


def _zset(conn, key):
    items = _scan_all(conn, key, b"ZSCAN")
    return {member: float(score) for member, score in zip(items[0::2], items[1::2])}


def _list(conn, key):
    items, start = [], 0
    while chunk := _call(conn, key, b"LRANGE", key, start, start + CHUNK - 1):
        items.extend(chunk)
        start += len(chunk)
    return items


def _stream(conn, key):
    entries, start = [], b"-"
    while chunk := _call(conn, key, b"XRANGE", key, start, b"+", b"COUNT", CHUNK):
        entries.extend((entry_id, tuple(fields)) for entry_id, fields in chunk)
        start = b"(" + chunk[-1][0]
    info = _call(conn, key, b"XINFO", b"STREAM", key)
    meta = dict(zip(info[0::2], info[1::2]))
    groups = []
    for group in _call(conn, key, b"XINFO", b"GROUPS", key):
        g = dict(zip(group[0::2], group[1::2]))
        groups.append((g.get(b"name"), g.get(b"last-delivered-id")))
    return entries, meta.get(b"last-generated-id"), sorted(groups)


_READERS = {b"string": _string, b"hash": _hash, b"set": _set, b"zset": _zset, b"list": _list, b"stream": _stream}
