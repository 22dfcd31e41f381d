"""Verify a Redis copy: `counts` compares keys per database, `full` compares every key's DUMP payload and
expiry.

Counts that differ are explained key by key (SCAN one side, EXISTS on the other), because DBSIZE also counts
keys that have expired but not yet been reclaimed. `full` also looks for keys that exist only on the target.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from billingops.errors import UsageError
from billingops.transfer.redis import functions as redis_functions
from billingops.transfer.redis import parallel as redis_parallel
from billingops.transfer.redis.copy import PARALLEL_MIN_KEYS, RedisEndpoint, inspect
from billingops.transfer.redis.resp import RespConnection, describe_key, encode
from billingops.transfer.redis.verify_slice import MAX_REPORTED, SliceVerify, VerifySpec

log = logging.getLogger(__name__)

MODES = ("counts", "full")


@dataclass
class DbVerifyResult:
    db: int
    ok: bool
    source_keys: int
    target_keys: int
    mismatches: list[str] = field(default_factory=list)  # key names, escaped and truncated, at most MAX_REPORTED
    mismatch_count: int = 0
    details: dict[str, str] = field(default_factory=dict)  # key name -> why it does not match
    mode: str = "full"
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(
    source: RedisEndpoint,
    target: RedisEndpoint,
    *,
    dbs: list[int],
    mode: str,
    copy_started_ms: int,
    copy_finished_ms: int,
    jobs: int = 1,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    parallel_min_keys: int = PARALLEL_MIN_KEYS,
) -> list[DbVerifyResult | redis_functions.FunctionsCheck]:
    """One result per database in `dbs` (and one for the function libraries, when a side has any);
    `full` runs in `jobs` processes per database of PARALLEL_MIN_KEYS+."""
    if mode not in MODES:
        raise UsageError(f"unknown verification mode {mode!r}", hint="use --verify counts or --verify full")
    src_inv = inspect(source)
    if mode == "counts":
        return [_verify_counts(source, target, db) for db in dbs] + _functions(source, target)
    # ABSTTL copies expiries exactly; the window only matters for keys whose TTL was changed during the copy and
    # for sources older than 7.0, whose expiries are read as PTTL + this host's clock (a second of slack).
    window = max(0, copy_finished_ms - copy_started_ms) + 1000
    abs_expiry = not src_inv.version_tuple() or src_inv.version_tuple() >= (7, 0)
    size_check = _memory_usage_works(source)
    specs = []
    for db in dbs:
        parts = max(1, jobs) if src_inv.dbs.get(db, 0) >= parallel_min_keys else 1
        specs += [
            VerifySpec(
                source_url=source.url,
                target_url=target.url,
                db=db,
                part=part,
                parts=parts,
                source_ca=source.ca_file,
                target_ca=target.ca_file,
                window_ms=window,
                size_check=size_check,
                abs_expiry=abs_expiry,
            )
            for part in range(parts)
        ]
    done: dict[int, list[SliceVerify]] = {db: [] for db in dbs}
    progress = _Counter(src_inv.dbs, on_progress)
    runner = redis_parallel.run_inline if jobs <= 1 or len(specs) <= 1 else None
    fn_path = "billingops.transfer.redis.verify_slice:verify_slice"
    if runner is None:
        redis_parallel.run_pool(
            specs,
            jobs,
            progress.add,
            lambda r: done[r.db].append(r),
            result_path="billingops.transfer.redis.verify_slice:SliceVerify",
            fn_path=fn_path,
        )
    else:
        runner(specs, progress.add, lambda r: done[r.db].append(r), fn_path=fn_path)
    return [_finish_full(source, target, db, done[db]) for db in dbs] + _functions(source, target)


def _functions(source: RedisEndpoint, target: RedisEndpoint) -> list[redis_functions.FunctionsCheck]:
    """The function libraries, compared in both modes (few and small); nothing when neither side has any."""
    with (
        RespConnection(source.url, ca_file=source.ca_file, timeout=30.0) as src,
        RespConnection(target.url, ca_file=target.ca_file, timeout=30.0) as tgt,
    ):
        check = redis_functions.compare(src, tgt)
    return [check] if check else []


def _finish_full(source: RedisEndpoint, target: RedisEndpoint, db: int, parts: list[SliceVerify]) -> DbVerifyResult:
    result = DbVerifyResult(
        db,
        ok=False,
        source_keys=0,
        target_keys=0,
        mode="full",
        seconds=max((p.seconds for p in parts), default=0.0),
    )
    present = 0
    for p in parts:
        result.source_keys += p.source_keys
        present += p.target_present
        result.mismatch_count += p.mismatch_count
        result.mismatches.extend(p.mismatches)
        result.details.update(p.details)
    with RespConnection(target.url, db=db, ca_file=target.ca_file) as tgt:
        target_size = tgt.check(b"DBSIZE")
    extras = []
    if target_size > present:  # keys only on the target, or expired ones DBSIZE still counts: find out which
        extras = _missing_on(target, source, db)
        extras = [key for key in extras if describe_key(key) not in result.details]  # already reported
        for key in extras:
            _add(result, key, "only on the target")
    result.target_keys = present + len(extras)
    result.mismatches = result.mismatches[:MAX_REPORTED]
    result.ok = result.mismatch_count == 0
    return result


def _verify_counts(source: RedisEndpoint, target: RedisEndpoint, db: int) -> DbVerifyResult:
    started = time.monotonic()
    with (
        RespConnection(source.url, db=db, ca_file=source.ca_file) as src,
        RespConnection(target.url, db=db, ca_file=target.ca_file) as tgt,
    ):
        source_keys, target_keys = src.check(b"DBSIZE"), tgt.check(b"DBSIZE")
    result = DbVerifyResult(
        db, ok=source_keys == target_keys, source_keys=source_keys, target_keys=target_keys, mode="counts"
    )
    if not result.ok:
        missing, extras = _missing_on(source, target, db), _missing_on(target, source, db)
        for key in missing:
            _add(result, key, "missing on the target")
        for key in extras:
            _add(result, key, "only on the target")
        result.ok = not missing and not extras  # the difference was keys that had expired but were not reclaimed
    result.seconds = time.monotonic() - started
    return result


def _add(result: DbVerifyResult, key: bytes, reason: str) -> None:
    result.mismatch_count += 1
    if len(result.mismatches) < MAX_REPORTED:
        name = describe_key(key)
        result.mismatches.append(name)
        result.details[name] = reason


def _missing_on(have: RedisEndpoint, other: RedisEndpoint, db: int) -> list[bytes]:
    """Keys SCAN finds on `have` that do not exist on `other` (SCAN skips expired keys)."""
    missing = []
    with (
        RespConnection(have.url, db=db, ca_file=have.ca_file) as a,
        RespConnection(other.url, db=db, ca_file=other.ca_file) as b,
    ):
        cursor = b"0"
        while True:
            cursor, keys = a.check(b"SCAN", cursor, b"COUNT", 1000)
            if keys:
                b.send(b"".join(encode(b"EXISTS", k) for k in keys))
                missing += [k for k, n in zip(keys, b.read(len(keys)), strict=True) if n == 0]
            if cursor == b"0":
                return missing


def _memory_usage_works(source: RedisEndpoint) -> bool:
    with RespConnection(source.url, ca_file=source.ca_file) as conn:
        reply = conn.call(b"MEMORY", b"USAGE", b"billingops:probe")
    return not isinstance(reply, Exception)


class _Counter:
    def __init__(self, totals: dict[int, int], sink: Callable[[dict[str, Any]], None] | None) -> None:
        self.done: dict[int, int]
        self.totals, self.sink, self.done, self.started, self.last = totals, sink, {}, time.monotonic(), 0.0

    def add(self, db: int, keys: int) -> None:
        self.done[db] = self.done.get(db, 0) + keys
        now = time.monotonic()
        if self.sink is not None and now - self.last >= 0.5:
            self.last = now
            self.sink(
                {
                    "db": db,
                    "keys": self.done[db],
                    "total": max(self.totals.get(db, 0), self.done[db]),
                    "keys_per_s": round(self.done[db] / max(now - self.started, 1e-6), 1),
                    "phase": "verify",
                }
            )
