"""The copy of one slice of one logical database: SCAN + DUMP + PEXPIRETIME on the source, RESTORE ABSTTL on
the target.

The calling thread reads the source while a second thread writes the target, so the two servers and the two
sockets work at the same time. A slice is `part` of `parts`: with several processes on one database each scans
the whole keyspace but only copies the keys whose crc32 falls in its slice (SCAN has no way to split its
cursor). Keys too big for one DUMP are rebuilt in chunks by redis_bigkeys after the scan.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from billingops.transfer.redis import bigkeys as redis_bigkeys
from billingops.transfer.redis.resp import RedisUnavailable, RespConnection, describe_key, encode, is_error
from billingops.transfer.redis.scan import KeyScanner, dump_commands, split_dump_replies

log = logging.getLogger(__name__)

DEFAULT_BIG_KEY_BYTES = 64 * 1024 * 1024  # DUMP of anything bigger is rebuilt in chunks (proto-max-bulk-len is 512 MB)
_QUEUE_DEPTH = 4  # batches in flight between reader and writer: bounds memory
_WINDOW = 16  # batches of RESTOREs sent but not yet answered: bounds memory (~16 x SCAN_COUNT keys)

# (keys, their DUMP payloads (None: gone), their absolute expiries in ms) handed from reader to writer
_Dumped: TypeAlias = tuple[list[bytes], list[bytes | None], list[int]]


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
    def connect(url: str, ca: str | None) -> RespConnection:
        return RespConnection(url, db=spec.db, ca_file=ca)

    with connect(spec.source_url, spec.source_ca) as src, connect(spec.target_url, spec.target_ca) as tgt:
        writer = _Writer(tgt, spec, counts, report)
        writer.start()
        big: list[bytes] = []
        try:
            with KeyScanner(connect(spec.source_url, spec.source_ca), spec) as scanner:
                _read_source(src, spec, scanner, writer, big)
        finally:
            writer.finish()
        if writer.error is not None:
            raise writer.error
        for key in big:
            _copy_big(src, tgt, spec, counts, key, report)
    counts.seconds = time.monotonic() - started
    return counts


def _read_source(src: RespConnection, spec: SliceSpec, scanner: KeyScanner, writer: _Writer, big: list[bytes]) -> None:
    """DUMP batch i+1 is on its way while batch i's replies are read and handed to the writer."""
    in_flight: list[bytes] = []
    while True:
        item = scanner.next()
        keys: list[bytes] = []
        if item is not None:
            keys, big_keys = item
            big.extend(big_keys)
            if keys:
                src.send(dump_commands(keys, spec.abs_expiry))
        if in_flight:
            payloads, ttls = split_dump_replies(src, spec.db, src.read(2 * len(in_flight)), spec.abs_expiry)
            if not writer.put((in_flight, payloads, ttls)):
                return  # the writer failed: copy_slice raises its error
        if item is None:
            return
        in_flight = keys


def _copy_big(
    src: RespConnection,
    tgt: RespConnection,
    spec: SliceSpec,
    counts: SliceCounts,
    key: bytes,
    report: Callable[[int, int], None],
) -> None:
    outcome = redis_bigkeys.rebuild(src, tgt, key, replace=spec.replace, on_chunk=lambda n: report(spec.db, 0))
    if outcome == "copied":
        counts.copied += 1
        counts.big_keys += 1
    elif outcome == "expired":
        counts.expired += 1
    else:
        _note_skip(counts, key)
    report(spec.db, 1)


class _Writer(threading.Thread):
    """Drains batches into pipelined RESTORE ... ABSTTL commands on the target."""

    def __init__(
        self, tgt: RespConnection, spec: SliceSpec, counts: SliceCounts, report: Callable[[int, int], None]
    ) -> None:
        super().__init__(name=f"redis-restore-db{spec.db}", daemon=True)
        self.tgt, self.spec, self.counts, self.report = tgt, spec, counts, report
        self.queue: queue.Queue[_Dumped | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self.error: BaseException | None = None
        suffix = b"$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n" if spec.replace else b"$6\r\nABSTTL\r\n"
        self._template = (
            b"*%d\r\n$7\r\nRESTORE\r\n" % (6 if spec.replace else 5)
            + b"$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
            + suffix
        )

    def put(self, item: _Dumped | None) -> bool:
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
        """Up to _WINDOW batches of RESTOREs are on the wire before the oldest one's replies are read: across
        a 30 ms round trip a window of two batches capped the copy at ~2 batches per round trip."""
        try:
            pending: collections.deque[tuple[list[bytes], int]] = collections.deque()
            while True:
                item = self.queue.get()
                if item is None:
                    while pending:
                        self._collect(*pending.popleft())
                    return
                pending.append(self._write(*item))
                while len(pending) > _WINDOW:
                    self._collect(*pending.popleft())
        except BaseException as exc:  # noqa: BLE001 - not swallowed: the reading thread raises it
            self.error = exc

    def _write(self, keys: list[bytes], payloads: list[bytes | None], ttls: list[int]) -> tuple[list[bytes], int]:
        """Send the batch's RESTOREs; returns (keys sent, keys in the batch) for _collect."""
        now = int(time.time() * 1000)
        template, sent, parts, expired = self._template, [], [], 0
        for key, payload, ttl in zip(keys, payloads, ttls, strict=True):
            # -2: gone between SCAN and DUMP; an expiry already past makes RESTORE silently create nothing
            if payload is None or ttl == -2 or (ttl > 0 and ttl <= now):
                expired += 1
                continue
            ttl_b = b"%d" % ttl if ttl > 0 else b"0"
            parts.append(template % (len(key), key, len(ttl_b), ttl_b, len(payload), payload))
            sent.append(key)
        if sent:
            self.tgt.send(b"".join(parts))
        self.counts.expired += expired
        return sent, len(keys)

    def _collect(self, sent: list[bytes], batch_keys: int) -> None:
        replies = self.tgt.read(len(sent)) if sent else []
        failed = 0
        for key, reply in zip(sent, replies, strict=True):
            if not is_error(reply):
                continue
            text = str(reply)
            if not text.startswith("BUSYKEY"):
                self.counts.copied += sum(1 for r in replies if not is_error(r))
                raise _restore_error(self.tgt, self.spec.db, key, text)
            failed += 1
            _note_skip(self.counts, key)
        self.counts.copied += len(sent) - failed
        self.report(self.spec.db, batch_keys)


def _note_skip(counts: SliceCounts, key: bytes) -> None:
    counts.skipped += 1
    if len(counts.skipped_examples) < 10:
        counts.skipped_examples.append(describe_key(key))


def _restore_error(tgt: RespConnection, db: int, key: bytes, text: str) -> RedisUnavailable:
    if "payload version" in text or "checksum" in text:
        hint = (
            "the target Redis is older than the source and cannot read its DUMP format: "
            "use a target of the same or a newer Redis version"
        )
    elif text.startswith("OOM"):
        hint = "the target ran out of memory (maxmemory): use a bigger target instance, then --resume"
    else:
        hint = "RESTORE must be allowed for the target user (ACL +restore); check the target's server log"
    return RedisUnavailable(
        f"RESTORE of key {describe_key(key)!r} into Redis at {tgt.shown} db {db} failed: {text}", hint=hint
    )


def restore_command(key: bytes, ttl: int, payload: bytes, replace: bool) -> bytes:
    """The RESTORE command the writer sends, for one key (used by preflight and tests)."""
    args = [b"RESTORE", key, b"%d" % max(ttl, 0), payload] + ([b"REPLACE"] if replace else []) + [b"ABSTTL"]
    return encode(*args)
