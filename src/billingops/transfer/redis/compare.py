"""Compare one key's value on two servers by type, for when DUMP payloads differ.

Two equal sets, hashes or sorted sets can DUMP differently (hashtable/skiplist payloads depend on insertion
history, and a chunked rebuild changes the encoding), so a payload difference is only a mismatch once the
values differ. Collections are read in chunks so a key with hundreds of thousands of members does not need one
giant reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeAlias

from billingops.transfer.redis.resp import RedisUnavailable, Reply, RespConnection, describe_key, encode, is_error

log = logging.getLogger(__name__)

CHUNK = 1000
WHOLE_VALUE_BYTES = 256 * 1024  # below this DUMP size a value is read in one reply; above it in chunks

# One command that returns a whole small value, and how to normalise its reply for comparison.
_WHOLE: dict[bytes, tuple[tuple[bytes, ...], Callable[[Reply], object]]] = {
    b"string": ((b"GET",), lambda r: r),
    b"hash": ((b"HGETALL",), lambda r: dict(zip(r[0::2], r[1::2], strict=True))),
    b"set": ((b"SMEMBERS",), lambda r: set(r)),
    b"zset": (
        (b"ZRANGE", b"0", b"-1", b"WITHSCORES"),
        lambda r: {m: float(s) for m, s in zip(r[0::2], r[1::2], strict=True)},
    ),
    b"list": ((b"LRANGE", b"0", b"-1"), lambda r: r),
}


# The first byte of a DUMP payload is the RDB object type (rdb.h): it picks the read command without TYPE.
_RDB_TYPES = {
    0: b"string",
    1: b"list",
    10: b"list",
    14: b"list",
    18: b"list",
    2: b"set",
    11: b"set",
    20: b"set",
    3: b"zset",
    5: b"zset",
    12: b"zset",
    17: b"zset",
    4: b"hash",
    9: b"hash",
    13: b"hash",
    16: b"hash",
}


def payload_type(payload: bytes) -> bytes | None:
    return _RDB_TYPES.get(payload[0]) if payload else None


def differs_many(
    src: RespConnection, tgt: RespConnection, keys: list[bytes], pairs: list[tuple[bytes, bytes]]
) -> dict[bytes, str]:
    """Compare keys whose DUMP payloads (`pairs`: source, target) differed; returns key -> reason."""
    reasons: dict[bytes, str] = {}
    batch, slow = [], []
    for key, (sp, tp) in zip(keys, pairs, strict=True):
        st, tt = payload_type(sp), payload_type(tp)
        if st is not None and st == tt and max(len(sp), len(tp)) <= WHOLE_VALUE_BYTES:
            batch.append((key, st))
        else:
            slow.append(key)
    if batch:
        pipe = b"".join(encode(*_WHOLE[kind][0][:1], key, *_WHOLE[kind][0][1:]) for key, kind in batch)
        src.send(pipe)
        tgt.send(pipe)
        src_values, tgt_values = src.read(len(batch)), tgt.read(len(batch))
        for (key, kind), a, b in zip(batch, src_values, tgt_values, strict=True):
            if is_error(a) or is_error(b) or a is None or b is None:
                slow.append(key)  # changed type or vanished meanwhile: let the careful path decide
            elif _WHOLE[kind][1](a) != _WHOLE[kind][1](b):
                reasons[key] = "value differs"
    for key in slow:
        reason = differs(src, tgt, key)
        if reason:
            reasons[key] = reason
    return reasons


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


def _call(conn: RespConnection, key: bytes, *args: bytes | str | int) -> Reply:
    reply = conn.call(*args)
    if is_error(reply):
        raise RedisUnavailable(
            f"comparing key {describe_key(key)!r} failed on Redis at {conn.shown}: {reply}",
            hint="check that the user may read this key (ACL +@read)",
        )
    return reply


def _scan_all(conn: RespConnection, key: bytes, command: bytes) -> list[Reply]:
    items: list[Reply]
    cursor, items = b"0", []
    while True:
        cursor, chunk = _call(conn, key, command, key, cursor, b"COUNT", CHUNK)
        items.extend(chunk)
        if cursor == b"0":
            return items


def _string(conn: RespConnection, key: bytes) -> Reply:
    return _call(conn, key, b"GET", key)


def _hash(conn: RespConnection, key: bytes) -> dict[bytes, bytes]:
    items = _scan_all(conn, key, b"HSCAN")
    return dict(zip(items[0::2], items[1::2], strict=True))


def _set(conn: RespConnection, key: bytes) -> set[bytes]:
    return set(_scan_all(conn, key, b"SSCAN"))


def _zset(conn: RespConnection, key: bytes) -> dict[bytes, float]:
    items = _scan_all(conn, key, b"ZSCAN")
    return {member: float(score) for member, score in zip(items[0::2], items[1::2], strict=True)}


def _list(conn: RespConnection, key: bytes) -> list[bytes]:
    items: list[bytes]
    items, start = [], 0
    while chunk := _call(conn, key, b"LRANGE", key, start, start + CHUNK - 1):
        items.extend(chunk)
        start += len(chunk)
    return items


# (entries as (id, fields), last generated id, consumer groups as (name, last delivered id))
_Stream: TypeAlias = tuple[list[tuple[bytes, tuple[bytes, ...]]], Reply, list[tuple[Reply, Reply]]]


def _stream(conn: RespConnection, key: bytes) -> _Stream:
    entries: list[tuple[bytes, tuple[bytes, ...]]]
    entries, start = [], b"-"
    while chunk := _call(conn, key, b"XRANGE", key, start, b"+", b"COUNT", CHUNK):
        entries.extend((entry_id, tuple(fields)) for entry_id, fields in chunk)
        start = b"(" + chunk[-1][0]
    info = _call(conn, key, b"XINFO", b"STREAM", key)
    meta = dict(zip(info[0::2], info[1::2], strict=True))
    groups = []
    for group in _call(conn, key, b"XINFO", b"GROUPS", key):
        g = dict(zip(group[0::2], group[1::2], strict=True))
        groups.append((g.get(b"name"), g.get(b"last-delivered-id")))
    return entries, meta.get(b"last-generated-id"), sorted(groups)


_READERS: dict[bytes, Callable[[RespConnection, bytes], object]] = {
    b"string": _string,
    b"hash": _hash,
    b"set": _set,
    b"zset": _zset,
    b"list": _list,
    b"stream": _stream,
}
