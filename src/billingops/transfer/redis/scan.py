"""Walk a database's keys for copy and verification: SCAN, keep one slice, set big keys aside, and DUMP in
pipelines.

`KeyScanner` runs SCAN (+ MEMORY USAGE) on its own connection in a thread, a few batches ahead, so the
connection that DUMPs never waits for a SCAN round trip. Over a WAN (a cross-cloud tunnel has 10-50 ms of
round trip) every round trip saved per batch is throughput; on loopback it costs nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Protocol, TypeAlias

from billingops.transfer.redis.resp import RedisUnavailable, Reply, RespConnection, encode, is_error

log = logging.getLogger(__name__)

SCAN_COUNT = 1000
BATCH_BYTES = 16 * 1024 * 1024  # per DUMP pipeline, by MEMORY USAGE; a few batches are in flight at once
_AHEAD = 4  # batches the scanner may run ahead: bounds memory

# (keys to DUMP in one pipeline, big keys set aside for the chunked rebuild)
Batch: TypeAlias = tuple[list[bytes], list[bytes]]


class SliceLike(Protocol):
    db: int
    part: int
    parts: int
    size_check: bool
    big_key_bytes: int
    abs_expiry: bool


def scan_batches(conn: RespConnection, spec: SliceLike) -> Iterator[Batch]:
    """Yield (keys, big_keys) per SCAN page of this slice; big: MEMORY USAGE over the bound.

    Page i's MEMORY USAGE commands go out in the same write as the SCAN for page i+1: one round trip per page,
    not two. The source serves DUMP pipelines at the same time, so every round trip here waits behind one.
    """
    sizing = spec.size_check and spec.big_key_bytes > 0
    cursor = b"0"
    sized: list[bytes] = []  # the previous page's keys, their sizes asked for ahead of this SCAN
    while True:
        conn.send(_memory_usage(sized) + encode(b"SCAN", cursor, b"COUNT", SCAN_COUNT))
        replies = conn.read(len(sized) + 1)
        if sized:
            yield from _split_big(spec, sized, replies[:-1])
        reply = replies[-1]
        if is_error(reply):
            raise RedisUnavailable(
                f"SCAN failed on Redis at {conn.shown} db {spec.db}: {reply}",
                hint="SCAN must be allowed for the source user (ACL +@keyspace +@read)",
            )
        cursor, keys = reply
        if spec.parts > 1:
            crc, parts, part = zlib.crc32, spec.parts, spec.part
            keys = [k for k in keys if crc(k) % parts == part]
        sized = []
        if keys and not sizing:
            yield keys, []
        elif keys:
            sized = keys
        if cursor == b"0":
            if sized:
                conn.send(_memory_usage(sized))
                yield from _split_big(spec, sized, conn.read(len(sized)))
            return


def _memory_usage(keys: list[bytes]) -> bytes:
    return b"".join([b"*3\r\n$6\r\nMEMORY\r\n$5\r\nUSAGE\r\n$%d\r\n%s\r\n" % (len(k), k) for k in keys])


def _split_big(spec: SliceLike, keys: list[bytes], replies: list[Reply]) -> Iterator[Batch]:
    """Set keys over the bound aside and cut the rest into batches of at most BATCH_BYTES (memory, not count,
    is what a page of 1000 large values would blow)."""
    sizes = [s if isinstance(s, int) else 0 for s in replies]  # nil: the key is gone; DUMP will say so
    limit = spec.big_key_bytes
    if sum(sizes) <= BATCH_BYTES:
        yield keys, []
        return
    big = [k for k, s in zip(keys, sizes, strict=True) if s > limit]
    batch: list[bytes]
    batch, batch_bytes = [], 0
    for key, size in zip(keys, sizes, strict=True):
        if size > limit:
            continue
        if batch and batch_bytes + size > BATCH_BYTES:
            yield batch, []
            batch, batch_bytes = [], 0
        batch.append(key)
        batch_bytes += size
    yield batch, big


def dump_commands(keys: list[bytes], abs_expiry: bool) -> bytes:
    """DUMP k + PEXPIRETIME k (PTTL k before Redis 7.0) for every key, as one pipeline."""
    ttl_cmd = b"PEXPIRETIME" if abs_expiry else b"PTTL"
    head = b"*2\r\n$4\r\nDUMP\r\n$%d\r\n%s\r\n*2\r\n$" + b"%d\r\n" % len(ttl_cmd) + ttl_cmd + b"\r\n$%d\r\n%s\r\n"
    return b"".join([head % (len(k), k, len(k), k) for k in keys])


def split_dump_replies(
    conn: RespConnection, db: int, replies: list[Reply], abs_expiry: bool
) -> tuple[list[bytes | None], list[int]]:
    """(payloads, absolute expiries in ms) from the replies of dump_commands; -1 no expiry, -2 gone."""
    payloads, ttls = replies[0::2], replies[1::2]
    for reply in replies:
        if is_error(reply):
            raise RedisUnavailable(
                f"DUMP failed on Redis at {conn.shown} db {db}: {reply}",
                hint="DUMP and PEXPIRETIME must be allowed for the user; module types cannot be copied",
            )
    if not abs_expiry:
        now = int(time.time() * 1000)
        ttls = [t + now if t >= 0 else t for t in ttls]
    return payloads, ttls


class KeyScanner(threading.Thread):
    """scan_batches on its own connection, in a thread; next() gives (keys, big) or None at the end."""

    def __init__(self, conn: RespConnection, spec: SliceLike) -> None:
        super().__init__(name=f"redis-scan-db{spec.db}", daemon=True)
        self.conn, self.spec = conn, spec
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=_AHEAD)
        self.error: BaseException | None = None
        self.stopping = False

    def run(self) -> None:
        try:
            for batch in scan_batches(self.conn, self.spec):
                if self.stopping:
                    break
                self._put(batch)
        except BaseException as exc:  # noqa: BLE001 - not swallowed: next() raises it in the consuming thread
            self.error = exc
        finally:
            self._put(None)
            self.conn.close()

    def _put(self, item: Batch | None) -> None:
        while not self.stopping:
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def next(self) -> Batch | None:
        item = self.queue.get()
        if item is None and self.error is not None:
            raise self.error
        return item

    def stop(self) -> None:
        self.stopping = True
        self.join(timeout=10)

    def __enter__(self) -> KeyScanner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
