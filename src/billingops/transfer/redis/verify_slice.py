"""Full verification of one slice of one database: DUMP + PEXPIRETIME of every source key on both servers.

Payloads are compared as bytes (an exact digest, and cheaper than hashing both sides); when they differ the
values are compared by type (redis_compare), because equal hashes/sets/sorted sets can DUMP differently. A key
missing on the target is always a mismatch, unless it expired on the source as well.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from billingops.transfer.redis import compare as redis_compare
from billingops.transfer.redis import rdb as redis_rdb
from billingops.transfer.redis.resp import (
    RedisUnavailable,
    Reply,
    RespConnection,
    describe_key,
    has_error,
    is_error,
)
from billingops.transfer.redis.scan import KeyScanner, dump_commands

log = logging.getLogger(__name__)

MAX_REPORTED = 100  # mismatching key names kept per database; the count is always complete

# ("big", big keys, []) or ("differ", keys, their (source, target) DUMP payloads): the checker's slow questions
_Question: TypeAlias = tuple[str, list[bytes], list[tuple[bytes, bytes]]]


@dataclass
class VerifySpec:
    source_url: str
    target_url: str
    db: int
    part: int = 0
    parts: int = 1
    source_ca: str | None = None
    target_ca: str | None = None
    window_ms: int = 0  # how far two absolute expiries may differ: the copy's duration
    big_key_bytes: int = 64 * 1024 * 1024
    size_check: bool = True
    abs_expiry: bool = True


@dataclass
class SliceVerify:
    db: int
    source_keys: int = 0  # present on the source when read
    target_present: int = 0  # of those, present on the target
    vanished: int = 0  # expired or deleted on the source during verification
    mismatch_count: int = 0
    mismatches: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, key: bytes, reason: str) -> None:
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_REPORTED:
            name = describe_key(key)
            self.mismatches.append(name)
            self.details[name] = reason


def verify_slice(spec: VerifySpec, report: Callable[[int, int], None]) -> SliceVerify:
    """Compare every source key of the slice; batch i+1 is on both servers while batch i is compared here."""
    started = time.monotonic()
    out = SliceVerify(spec.db)
    def connect(url: str, ca: str | None) -> RespConnection:
        return RespConnection(url, db=spec.db, ca_file=ca)

    with (
        connect(spec.source_url, spec.source_ca) as src,
        connect(spec.target_url, spec.target_ca) as tgt,
        _Checker(connect(spec.source_url, spec.source_ca), connect(spec.target_url, spec.target_ca), out) as checker,
        KeyScanner(connect(spec.source_url, spec.source_ca), spec) as scanner,
    ):
        pending: list[bytes] = []
        while True:
            item = scanner.next()
            keys: list[bytes] = []
            if item is not None:
                keys, big = item
                if keys:
                    batch = dump_commands(keys, spec.abs_expiry)
                    src.send(batch)  # both servers work on this batch while the previous one is compared
                    tgt.send(batch)
                if big:
                    checker.put(("big", big, []))
            if pending:
                retry = _compare_batch(spec, out, pending, src.read(2 * len(pending)), tgt.read(2 * len(pending)))
                if retry[0]:
                    checker.put(("differ", *retry))
                report(spec.db, len(pending))
            if item is None:
                break
            pending = keys
            report(spec.db, len(big))
    out.seconds = time.monotonic() - started
    return out


class _Checker(threading.Thread):
    """The slow questions (typed compare of differing payloads, big keys) on their own connections, so the
    pipelined DUMP stream does not wait for them."""

    def __init__(self, src: RespConnection, tgt: RespConnection, out: SliceVerify) -> None:
        super().__init__(name="redis-verify-checker", daemon=True)
        self.src, self.tgt, self.out = src, tgt, out
        self.queue: queue.Queue[_Question | None] = queue.Queue(maxsize=64)
        self.error: BaseException | None = None

    def put(self, item: _Question | None) -> None:
        while self.is_alive():
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                kind, keys, pairs = item
                if kind == "big":
                    for key in keys:
                        _compare_big(self.out, self.src, self.tgt, key)
                    continue
                for key, reason in redis_compare.differs_many(self.src, self.tgt, keys, pairs).items():
                    self.out.add(key, reason)
        except BaseException as exc:  # noqa: BLE001 - not swallowed: __exit__ raises it in the verifying thread
            self.error = exc

    def __enter__(self) -> _Checker:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if self.is_alive():
            self.put(None)
        self.join()
        self.src.close()
        self.tgt.close()
        if self.error is not None and exc_type is None:
            raise self.error


def _compare_batch(
    spec: VerifySpec, out: SliceVerify, keys: list[bytes], src_replies: list[Reply], tgt_replies: list[Reply]
) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
    """Counts and TTL/presence mismatches here; returns the keys whose payloads differ (typed compare)."""
    if has_error(src_replies) or has_error(tgt_replies):
        failed = next(r for r in src_replies + tgt_replies if is_error(r))
        raise RedisUnavailable(
            f"reading keys of db {spec.db} failed during verification: {failed}",
            hint="DUMP and PEXPIRETIME must be allowed on both servers for the user in the URL",
        )
    now = int(time.time() * 1000)
    window = spec.window_ms
    relative = not spec.abs_expiry
    retry, pairs = [], []
    matched = 0
    rows = zip(keys, src_replies[0::2], src_replies[1::2], tgt_replies[0::2], tgt_replies[1::2], strict=True)
    for key, sp, st, tp, tt in rows:
        if st == tt and sp == tp and sp is not None:  # the common case: identical payload and expiry
            matched += 1
            continue
        if sp is None:
            out.vanished += 1
            if tp is not None and (tt == -1 or (tt > 0 and not relative and tt > now + window)):
                out.target_present += 1
                out.add(key, "deleted on the source but present on the target")
            continue
        if tp is None:
            if st > 0 and (relative or st <= now + window):  # about to expire: so was the target's copy
                out.vanished += 1
                continue
            out.source_keys += 1
            out.add(key, "missing on the target")
            continue
        out.source_keys += 1
        out.target_present += 1
        if (st > 0) != (tt > 0) or (st > 0 and abs(st - tt) > window):
            out.add(key, _ttl_reason(st, tt))
        elif sp != tp:
            # payloads of equal hashtable values differ with each server's hash seed: read them here if we can
            src_value = redis_rdb.members(sp) if sp[0] == tp[0] else None
            if src_value is None:
                retry.append(key)
                pairs.append((sp, tp))
            elif src_value != redis_rdb.members(tp):
                out.add(key, "value differs")
    out.source_keys += matched
    out.target_present += matched
    return retry, pairs


def _compare_big(out: SliceVerify, src: RespConnection, tgt: RespConnection, key: bytes) -> None:
    exists = tgt.call(b"EXISTS", key)
    if src.call(b"EXISTS", key) == 0:
        out.vanished += 1
        return
    out.source_keys += 1
    if exists == 0:
        out.add(key, "missing on the target")
        return
    out.target_present += 1
    st, tt = src.call(b"PEXPIRETIME", key), tgt.call(b"PEXPIRETIME", key)
    if isinstance(st, int) and isinstance(tt, int) and st != tt:
        out.add(key, _ttl_reason(st, tt))
        return
    reason = redis_compare.differs(src, tgt, key)
    if reason:
        out.add(key, reason)


def _ttl_reason(st: int, tt: int) -> str:
    def show(ms: int) -> str:
        return (
            "no expiry" if ms < 0 else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"
        )

    return f"expiry differs: source {show(st)}, target {show(tt)}"
