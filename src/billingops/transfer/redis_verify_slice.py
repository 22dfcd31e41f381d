"""Full verification of one slice of one database: DUMP + PEXPIRETIME of every source key on both servers.

Payloads are compared as bytes (an exact digest, and cheaper than hashing both sides); when they differ the
values are compared by type (redis_compare), because equal hashes/sets/sorted sets can DUMP differently. A key
missing on the target is always a mismatch, unless it expired on the source as well.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from billingops.transfer import redis_compare
from billingops.transfer.redis_resp import RedisUnavailable, RespConnection, describe_key, is_error
from billingops.transfer.redis_scan import KeyScanner, dump_commands

log = logging.getLogger(__name__)

MAX_REPORTED = 100  # mismatching key names kept per database; the count is always complete


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
    connect = lambda url, ca: RespConnection(url, db=spec.db, ca_file=ca)  # noqa: E731
    # Two pairs: one streams pipelined DUMPs, the other answers one-off questions (typed compare, big keys)
    # while replies are still in flight on the first.
    with (
        connect(spec.source_url, spec.source_ca) as src,
        connect(spec.target_url, spec.target_ca) as tgt,
        connect(spec.source_url, spec.source_ca) as src_side,
        connect(spec.target_url, spec.target_ca) as tgt_side,
    ):
        scanner = KeyScanner(connect(spec.source_url, spec.source_ca), spec)
        scanner.start()
        pending: list[bytes] | None = None
        try:
            while True:
                item = scanner.next()
                if item is not None:
                    keys, big = item
                    if keys:
                        batch = dump_commands(keys, spec.abs_expiry)
                        src.send(batch)  # both servers work on this batch while the previous one is compared
                        tgt.send(batch)
                if pending:
                    _compare_batch(
                        spec,
                        out,
                        src_side,
                        tgt_side,
                        pending,
                        src.read(2 * len(pending)),
                        tgt.read(2 * len(pending)),
                    )
                    report(spec.db, len(pending))
                if item is None:
                    break
                pending = keys
                for key in big:
                    _compare_big(out, src_side, tgt_side, key)
                report(spec.db, len(big))
        finally:
            scanner.stop()
    out.seconds = time.monotonic() - started
    return out


def _compare_batch(
    spec: VerifySpec,
    out: SliceVerify,
    src: RespConnection,
    tgt: RespConnection,
    keys: list[bytes],
    src_replies: list,
    tgt_replies: list,
) -> None:
    now = int(time.time() * 1000)
    window = spec.window_ms
    relative = not spec.abs_expiry
    retry, pairs = [], []
    for i, key in enumerate(keys):
        sp, st, tp, tt = (
            src_replies[2 * i],
            src_replies[2 * i + 1],
            tgt_replies[2 * i],
            tgt_replies[2 * i + 1],
        )
        if is_error(sp) or is_error(tp) or is_error(st) or is_error(tt):
            failed = next(r for r in (sp, tp, st, tt) if is_error(r))
            raise RedisUnavailable(
                f"reading key {describe_key(key)!r} failed during verification: {failed}",
                hint="DUMP and PEXPIRETIME must be allowed on both servers for the user in the URL",
            )
        if sp is None:
            out.vanished += 1
            if tp is not None and (tt == -1 or (tt > 0 and not relative and tt > now + window)):
                out.target_present += 1
                out.add(key, "deleted on the source but present on the target")
            continue
        out.source_keys += 1
        if tp is None:
            if st > 0 and (
                relative or st <= now + window
            ):  # it was about to expire: the target's copy already has
                out.vanished += 1
                out.source_keys -= 1
                continue
            out.add(key, "missing on the target")
            continue
        out.target_present += 1
        if (st > 0) != (tt > 0) or (st > 0 and abs(st - tt) > window):
            out.add(key, _ttl_reason(st, tt))
            continue
        if sp != tp:
            retry.append(key)
            pairs.append((sp, tp))
    if retry:
        for key, reason in redis_compare.differs_many(src, tgt, retry, pairs).items():
            out.add(key, reason)


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
            "no expiry"
            if ms < 0
            else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"
        )

    return f"expiry differs: source {show(st)}, target {show(tt)}"
