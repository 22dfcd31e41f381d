"""The copy of one slice of one logical database: SCAN + DUMP + PEXPIRETIME on the source, RESTORE ABSTTL on the target.

The calling thread reads the source while a second thread writes the target, so the two servers and the two sockets
work at the same time. A slice is `part` of `parts`: with several processes on one database each scans the whole
keyspace but only copies the keys whose crc32 falls in its slice (SCAN has no way to split its cursor).
Keys too big for one DUMP are rebuilt in chunks by redis_bigkeys after the scan.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from billingops.transfer import redis_bigkeys
from billingops.transfer.redis_resp import RedisUnavailable, RespConnection, describe_key, encode, is_error

log = logging.getLogger(__name__)

SCAN_COUNT = 1000
DEFAULT_BIG_KEY_BYTES = 64 * 1024 * 1024  # DUMP of anything bigger is rebuilt in chunks (proto-max-bulk-len is 512 MB)
_QUEUE_DEPTH = 4  # batches in flight between reader and writer: bounds memory


@dataclass
class SliceSpec:
    source_url: str
    target_url: str
    db: int
    part: int = 0
    parts: int = 1
    source_ca: str | None = None
    target_ca: str | None = None
    replace: bool = False
    big_key_bytes: int = DEFAULT_BIG_KEY_BYTES
    size_check: bool = True  # MEMORY USAGE available on the source
    abs_expiry: bool = True  # PEXPIRETIME available (Redis >= 7.0), else PTTL + clock


@dataclass
class SliceCounts:
    db: int
    copied: int = 0
    expired: int = 0
    skipped: int = 0
    big_keys: int = 0
    seconds: float = 0.0
    skipped_examples: list[str] = field(default_factory=list)


def copy_slice(spec: SliceSpec, report: Callable[[int, int], None]) -> SliceCounts:
    """Copy one slice; `report(db, keys_done)` is called after every batch with the keys handled in it."""
    started = time.monotonic()
    counts = SliceCounts(spec.db)
    with RespConnection(spec.source_url, db=spec.db, ca_file=spec.source_ca) as src, \
            RespConnection(spec.target_url, db=spec.db, ca_file=spec.target_ca) as tgt:
        writer = _Writer(tgt, spec, counts, report)
        writer.start()
        big: list[bytes] = []
        try:
            for keys in scan_keys(src, spec):
                payloads, ttls = dump_batch(src, spec, keys, big)
                if not writer.put((keys, payloads, ttls)):
                    break  # the writer failed: its error is raised below
        finally:
            writer.finish()
        if writer.error is not None:
            raise writer.error
        for key in big:
            outcome = redis_bigkeys.rebuild(src, tgt, key, replace=spec.replace,
                                            on_chunk=lambda n: report(spec.db, 0))
            if outcome == "copied":
                counts.copied += 1
                counts.big_keys += 1
            elif outcome == "expired":
                counts.expired += 1
            else:
                _note_skip(counts, key)
            report(spec.db, 1)
    counts.seconds = time.monotonic() - started
    return counts


def scan_keys(src: RespConnection, spec: SliceSpec):
    cursor = b"0"
    while True:
        reply = src.call(b"SCAN", cursor, b"COUNT", SCAN_COUNT)
        if is_error(reply):
            raise RedisUnavailable(f"SCAN failed on Redis at {src.shown} db {spec.db}: {reply}",
                                   hint="SCAN must be allowed for the source user (ACL +@keyspace +@read)")
        cursor, keys = reply
        if spec.parts > 1:
            crc, parts, part = zlib.crc32, spec.parts, spec.part
            keys = [k for k in keys if crc(k) % parts == part]
        if keys:
            yield keys
        if cursor == b"0":
            return


def dump_batch(src: RespConnection, spec: SliceSpec, keys: list[bytes], big: list[bytes]):
    """DUMP + expiry for a batch; keys above the size bound are moved to `big` (payload None, ttl -3)."""
    if spec.size_check and spec.big_key_bytes > 0:
        src.send(b"".join([b"*3\r\n$6\r\nMEMORY\r\n$5\r\nUSAGE\r\n$%d\r\n%s\r\n" % (len(k), k) for k in keys]))
        sizes = src.read(len(keys))
        limit = spec.big_key_bytes
        small = [k for k, size in zip(keys, sizes) if not (isinstance(size, int) and size > limit)]
        if len(small) != len(keys):
            big.extend(k for k, size in zip(keys, sizes) if isinstance(size, int) and size > limit)
            keys[:] = small
    if not keys:
        return [], []
    ttl_cmd = b"PEXPIRETIME" if spec.abs_expiry else b"PTTL"
    head = b"*2\r\n$4\r\nDUMP\r\n$%d\r\n%s\r\n*2\r\n$" + b"%d\r\n" % len(ttl_cmd) + ttl_cmd + b"\r\n$%d\r\n%s\r\n"
    src.send(b"".join([head % (len(k), k, len(k), k) for k in keys]))
    replies = src.read(2 * len(keys))
    payloads, ttls = replies[0::2], replies[1::2]
    if not spec.abs_expiry:
        now = int(time.time() * 1000)
        ttls = [t + now if isinstance(t, int) and t >= 0 else t for t in ttls]
    for p in payloads:
        if is_error(p):
            raise RedisUnavailable(f"DUMP failed on Redis at {src.shown} db {spec.db}: {p}",
                                   hint="DUMP must be allowed for the source user; module types cannot be copied")
    return payloads, ttls


class _Writer(threading.Thread):
    """Drains batches into pipelined RESTORE ... ABSTTL commands on the target."""

    def __init__(self, tgt: RespConnection, spec: SliceSpec, counts: SliceCounts,
                 report: Callable[[int, int], None]) -> None:
        super().__init__(name=f"redis-restore-db{spec.db}", daemon=True)
        self.tgt, self.spec, self.counts, self.report = tgt, spec, counts, report
        self.queue: queue.Queue = queue.Queue(maxsize=_QUEUE_DEPTH)
        self.error: BaseException | None = None
        suffix = b"$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n" if spec.replace else b"$6\r\nABSTTL\r\n"
        self._template = (b"*%d\r\n$7\r\nRESTORE\r\n" % (6 if spec.replace else 5)
                          + b"$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" + suffix)

    def put(self, item) -> bool:
        """Queue a batch; False once the writer has died (its error is in self.error)."""
        while self.is_alive():
            try:
                self.queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def finish(self) -> None:
        if self.is_alive():
            self.put(None)
        self.join()

    def run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                self._write(*item)
        except BaseException as exc:  # handed to the reading thread, which raises it
            self.error = exc

    def _write(self, keys: list[bytes], payloads: list, ttls: list) -> None:
        now = int(time.time() * 1000)
        template, sent, expired = self._template, [], 0
        parts = []
        for key, payload, ttl in zip(keys, payloads, ttls):
            # -2: gone between SCAN and DUMP; an expiry already past would make RESTORE silently create nothing
            if payload is None or ttl == -2 or (ttl > 0 and ttl <= now):
                expired += 1
                continue
            ttl_b = b"%d" % ttl if ttl > 0 else b"0"
            parts.append(template % (len(key), key, len(ttl_b), ttl_b, len(payload), payload))
            sent.append(key)
        if sent:
            self.tgt.send(b"".join(parts))
            replies = self.tgt.read(len(sent))
            for key, reply in zip(sent, replies):
                if not is_error(reply):
                    continue
                text = str(reply)
                if text.startswith("BUSYKEY"):
                    _note_skip(self.counts, key)
                    continue
                self.counts.copied += sum(1 for r in replies if not is_error(r))
                raise _restore_error(self.tgt, self.spec.db, key, text)
            self.counts.copied += len(sent) - sum(1 for r in replies if is_error(r))
        self.counts.expired += expired
        self.report(self.spec.db, len(keys))


def _note_skip(counts: SliceCounts, key: bytes) -> None:
    counts.skipped += 1
    if len(counts.skipped_examples) < 10:
        counts.skipped_examples.append(describe_key(key))


def _restore_error(tgt: RespConnection, db: int, key: bytes, text: str) -> RedisUnavailable:
    if "payload version" in text or "checksum" in text:
        hint = ("the target Redis is older than the source and cannot read its DUMP format: "
                "use a target of the same or a newer Redis version")
    elif text.startswith("OOM"):
        hint = "the target ran out of memory (maxmemory): use a bigger target instance, then --resume"
    else:
        hint = "RESTORE must be allowed for the target user (ACL +restore); check the target's server log"
    return RedisUnavailable(f"RESTORE of key {describe_key(key)!r} into Redis at {tgt.shown} db {db} failed: {text}",
                            hint=hint)


def restore_command(key: bytes, ttl: int, payload: bytes, replace: bool) -> bytes:
    """The RESTORE command the writer sends, for one key (used by preflight and tests)."""
    args = [b"RESTORE", key, b"%d" % max(ttl, 0), payload] + ([b"REPLACE"] if replace else []) + [b"ABSTTL"]
    return encode(*args)
