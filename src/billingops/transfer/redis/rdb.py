"""Read the members of hashtable-encoded set/hash/zset DUMP payloads, to compare them without a round trip.

Two equal sets DUMP differently when their hashtable order differs (each server seeds its hash function at
random), so verification would otherwise ask both servers for every such value. The RDB encodings read here
(rdb.h: RDB_TYPE_SET, RDB_TYPE_HASH, RDB_TYPE_ZSET_2) are plain length-prefixed strings; anything else, or an
LZF-compressed string, returns None and the caller asks the servers instead.
"""

from __future__ import annotations

import struct

_SET, _HASH, _ZSET_2 = 2, 4, 5
_DOUBLE = struct.Struct("<d")


class _Unsupported(Exception):
    pass


def members(payload: bytes) -> frozenset[bytes] | dict[bytes, bytes | float] | None:
    """A DUMP payload's value as a frozenset (set) or dict (hash, zset); None when not readable here."""
    body = payload[:-10]  # the trailer is the RDB version (2 bytes) and a CRC64 (8 bytes)
    if not body or body[0] not in (_SET, _HASH, _ZSET_2):
        return None
    try:
        kind = body[0]
        count, i, _ = _length(body, 1)
        if kind == _SET:
            items = []
            for _ in range(count):
                member, i = _string(body, i)
                items.append(member)
            value: frozenset[bytes] | dict[bytes, bytes | float] = frozenset(items)
        else:
            pairs: dict[bytes, bytes | float] = {}
            for _ in range(count):
                field, i = _string(body, i)
                if kind == _HASH:
                    pairs[field], i = _string(body, i)
                else:
                    pairs[field] = _DOUBLE.unpack_from(body, i)[0]
                    i += 8
            value = pairs
        return value if i == len(body) else None
    except (_Unsupported, IndexError, struct.error):
        return None


def _length(buf: bytes, i: int) -> tuple[int, int, bool]:
    """(length or encoding, next offset, is an encoding) of RDB's variable-length integer."""
    b = buf[i]
    kind = b >> 6
    if kind == 0:
        return b & 0x3F, i + 1, False
    if kind == 1:
        return ((b & 0x3F) << 8) | buf[i + 1], i + 2, False
    if b == 0x80:
        return int.from_bytes(buf[i + 1 : i + 5], "big"), i + 5, False
    if b == 0x81:
        return int.from_bytes(buf[i + 1 : i + 9], "big"), i + 9, False
    if kind == 3:
        return b & 0x3F, i + 1, True
    raise _Unsupported


def _string(buf: bytes, i: int) -> tuple[bytes, int]:
    n, i, encoded = _length(buf, i)
    if not encoded:
        if i + n > len(buf):
            raise _Unsupported
        return buf[i : i + n], i + n
    if n <= 2:  # integers stored as 1, 2 or 4 little-endian bytes; the value is their decimal string
        width = 1 << n
        number = int.from_bytes(buf[i : i + width], "little", signed=True)
        return b"%d" % number, i + width
    raise _Unsupported  # LZF-compressed
