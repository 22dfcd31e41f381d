"""Chunked rebuild of keys too big for one DUMP: members are read in chunks and appended to a temporary key on
the target, which is then given the source's absolute expiry and renamed over the real name.

A DUMP payload must fit in one bulk string (proto-max-bulk-len, 512 MB) and is built in the source's memory in
one piece; reading HSCAN/SSCAN/ZSCAN/LRANGE/XRANGE/GETRANGE chunks keeps both servers and this process bounded
and lets progress move. Streams keep their entries, last id and consumer groups (the groups' pending lists are
not carried: nothing but DUMP/RESTORE can write them).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator

from billingops.transfer.redis.resp import RedisUnavailable, Reply, RespConnection, describe_key, encode, is_error

log = logging.getLogger(__name__)

CHUNK = 1000
STRING_CHUNK = 4 * 1024 * 1024


def rebuild(
    src: RespConnection,
    tgt: RespConnection,
    key: bytes,
    *,
    replace: bool,
    on_chunk: Callable[[int], None] = lambda n: None,
) -> str:
    """Copy one key in chunks: "copied", "expired" (vanished meanwhile) or "skipped" (exists, no replace)."""
    kind = _ok(src, src.call(b"TYPE", key), key)
    if kind == b"none":
        return "expired"
    if not replace and _ok(tgt, tgt.call(b"EXISTS", key), key) == 1:
        return "skipped"
    tmp = b"billingops:migrate:tmp:" + uuid.uuid4().hex.encode()
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise RedisUnavailable(
            f"key {describe_key(key)!r} has type {kind.decode(errors='replace')}, which is too big for one "
            "DUMP "
            "and "
            "cannot be rebuilt in chunks",
            hint="copy this key by hand, or raise the big-key bound if the target's proto-max-bulk-len allows it",
        )
    log.info("rebuilding big %s key %s in chunks", kind.decode(), describe_key(key))
    try:
        members = builder(src, tgt, key, tmp, on_chunk)
        expiry = _expiry(src, key)
        if expiry == -2 or 0 < expiry <= int(time.time() * 1000):
            return "expired"
        commands = [encode(b"PEXPIREAT", tmp, expiry)] if expiry > 0 else []
        commands.append(encode(b"RENAME" if replace else b"RENAMENX", tmp, key))
        tgt.send(b"".join(commands))
        replies = tgt.read(len(commands))
        for reply in replies:
            _ok(tgt, reply, key)
        if replies[-1] == 0:
            return "skipped"
        if expiry > 0 and replies[0] == 0:
            return "expired"
        log.info("rebuilt %s (%d members)", describe_key(key), members)
        return "copied"
    finally:
        tgt.call(b"DEL", tmp)  # a no-op after RENAME; cleans up after a failure or a skip


def _expiry(src: RespConnection, key: bytes) -> int:
    """Absolute expiry in ms (-1 none, -2 gone); PTTL + clock on a Redis older than 7.0."""
    reply = src.call(b"PEXPIRETIME", key)
    if is_error(reply) and "unknown command" in str(reply).lower():
        ttl: int = _ok(src, src.call(b"PTTL", key), key)
        return ttl + int(time.time() * 1000) if ttl >= 0 else ttl
    expiry: int = _ok(src, reply, key)
    return expiry


def _ok(conn: RespConnection, reply: Reply, key: bytes) -> Reply:
    if is_error(reply):
        raise RedisUnavailable(
            f"chunked copy of key {describe_key(key)!r} failed on Redis at {conn.shown}: {reply}",
            hint="check the server log and that the user may read/write this key, then --resume",
        )
    return reply


def _write(tgt: RespConnection, key: bytes, command: list[bytes]) -> None:
    _ok(tgt, tgt.call(*command), key)


def _scan_members(src: RespConnection, key: bytes, command: bytes) -> Iterator[list[bytes]]:
    cursor = b"0"
    while True:
        cursor, items = _ok(src, src.call(command, key, cursor, b"COUNT", CHUNK), key)
        if items:
            yield items
        if cursor == b"0":
            return


def _hash(
    src: RespConnection, tgt: RespConnection, key: bytes, tmp: bytes, on_chunk: Callable[[int], None]
) -> int:
    total = 0
    for items in _scan_members(src, key, b"HSCAN"):
        _write(tgt, key, [b"HSET", tmp, *items])
        total += len(items) // 2
        on_chunk(total)
    return total


def _set(
    src: RespConnection, tgt: RespConnection, key: bytes, tmp: bytes, on_chunk: Callable[[int], None]
) -> int:
    total = 0
    for items in _scan_members(src, key, b"SSCAN"):
        _write(tgt, key, [b"SADD", tmp, *items])
        total += len(items)
        on_chunk(total)
    return total


def _zset(
    src: RespConnection, tgt: RespConnection, key: bytes, tmp: bytes, on_chunk: Callable[[int], None]
) -> int:
    total = 0
    for items in _scan_members(src, key, b"ZSCAN"):
        pairs = [x for member, score in zip(items[0::2], items[1::2], strict=True) for x in (score, member)]
        _write(tgt, key, [b"ZADD", tmp, *pairs])
        total += len(items) // 2
        on_chunk(total)
    return total


def _list(
    src: RespConnection, tgt: RespConnection, key: bytes, tmp: bytes, on_chunk: Callable[[int], None]
) -> int:
    total = 0
    while True:
        items = _ok(src, src.call(b"LRANGE", key, total, total + CHUNK - 1), key)
        if not items:
            return total
        _write(tgt, key, [b"RPUSH", tmp, *items])
        total += len(items)
        on_chunk(total)


def _string(
    src: RespConnection, tgt: RespConnection, key: bytes, tmp: bytes, on_chunk: Callable[[int], None]
) -> int:
    offset = 0
    _write(tgt, key, [b"SET", tmp, b""])
    while True:
        piece = _ok(src, src.call(b"GETRANGE", key, offset, offset + STRING_CHUNK - 1), key)
        if not piece:
            return offset
        _write(tgt, key, [b"APPEND", tmp, piece])
        offset += len(piece)
        on_chunk(offset)


def _stream(
    src: RespConnection, tgt: RespConnection, key: bytes, tmp: bytes, on_chunk: Callable[[int], None]
) -> int:
    total, start = 0, b"-"
    while True:
        entries = _ok(src, src.call(b"XRANGE", key, start, b"+", b"COUNT", CHUNK), key)
        if not entries:
            break
        tgt.send(b"".join(encode(b"XADD", tmp, entry_id, *fields) for entry_id, fields in entries))
        for reply in tgt.read(len(entries)):
            _ok(tgt, reply, key)
        total += len(entries)
        start = b"(" + entries[-1][0]
        on_chunk(total)
    info = _pairs(_ok(src, src.call(b"XINFO", b"STREAM", key), key))
    if total == 0:  # XSETID needs the key to exist: an empty stream is created by XADD + XDEL
        _write(tgt, key, [b"XADD", tmp, b"0-1", b"f", b"v"])
        _write(tgt, key, [b"XDEL", tmp, b"0-1"])
    _write(
        tgt,
        key,
        [
            b"XSETID",
            tmp,
            info[b"last-generated-id"],
            b"ENTRIESADDED",
            b"%d" % info[b"entries-added"],
            b"MAXDELETEDID",
            info[b"max-deleted-entry-id"],
        ],
    )
    for group in _ok(src, src.call(b"XINFO", b"GROUPS", key), key):
        g = _pairs(group)
        read = g.get(b"entries-read")
        _write(
            tgt,
            key,
            [b"XGROUP", b"CREATE", tmp, g[b"name"], g[b"last-delivered-id"]]
            + ([b"ENTRIESREAD", b"%d" % read] if isinstance(read, int) else []),
        )
        if g.get(b"pending"):
            log.warning(
                "stream %s: group %s has %d pending entries that a chunked copy cannot carry",
                describe_key(key),
                describe_key(g[b"name"]),
                g[b"pending"],
            )
    return total


def _pairs(flat: list[Reply]) -> dict[bytes, Reply]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


_BUILDERS = {
    b"hash": _hash,
    b"set": _set,
    b"zset": _zset,
    b"list": _list,
    b"string": _string,
    b"stream": _stream,
}
