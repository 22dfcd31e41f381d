"""Copy every logical database of one Redis to another with SCAN + DUMP + RESTORE ... ABSTTL (works on
ElastiCache and Memorystore, which block MIGRATE, REPLICAOF, SYNC and CONFIG).

`inspect()` sizes a server, `preflight()` proves the target can take the source's DUMP payloads, `copy()` runs
the slices (redis_worker) in this process or, with jobs > 1, in a pool of processes, and reports progress per
database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from billingops.errors import Interrupted, Refused
from billingops.redact import redact_url
from billingops.transfer.redis import functions as redis_functions
from billingops.transfer.redis import parallel as redis_parallel
from billingops.transfer.redis.resp import RedisUnavailable, RespConnection, is_error
from billingops.transfer.redis.worker import DEFAULT_BIG_KEY_BYTES, SliceCounts, SliceSpec

log = logging.getLogger(__name__)

PARALLEL_MIN_KEYS = 50_000  # below this a database is one slice: process start-up would cost more than it saves


@dataclass
class RedisEndpoint:
    url: str  # redis:// or rediss://, AUTH password / ACL user in the URL
    ca_file: str | None = None  # server CA for rediss:// (Memorystore)

    @property
    def shown(self) -> str:
        return redact_url(self.url)


@dataclass
class RedisInventory:
    dbs: dict[int, int]  # keys per logical database in use
    cluster_mode: bool
    used_memory: int
    version: str
    expires: dict[int, int] = field(default_factory=dict)
    role: str = "master"
    functions: dict[str, list[str]] = field(default_factory=dict)  # library -> its functions (Redis 7+)
    settings: dict[str, str | None] = field(default_factory=dict)  # redis_functions.SETTINGS; None: unreadable

    @property
    def total_keys(self) -> int:
        return sum(self.dbs.values())

    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.version.split(".")[:3] if p.isdigit())

    def to_dict(self) -> dict[str, Any]:
        return {
            "dbs": {str(k): v for k, v in self.dbs.items()},
            "cluster_mode": self.cluster_mode,
            "used_memory": self.used_memory,
            "version": self.version,
            "role": self.role,
            "expires": {str(k): v for k, v in self.expires.items()},
            "total_keys": self.total_keys,
            "functions": self.functions,
            "settings": self.settings,
            "not_carried_by_key_copy": redis_functions.NOT_CARRIED,
        }


@dataclass
class DbCopyResult:
    db: int
    keys_copied: int = 0
    keys_expired: int = 0  # expired or deleted between SCAN and RESTORE: counted, not an error
    keys_skipped: int = 0  # already on the target and replace=False (BUSYKEY)
    seconds: float = 0.0
    big_keys: int = 0  # rebuilt in chunks
    skipped_examples: list[str] = field(default_factory=list)
    workers: int = 1  # slices of the keyspace copied side by side, one process each

    @property
    def keys_per_s(self) -> float:
        done = self.keys_copied + self.keys_expired + self.keys_skipped
        return done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "keys_per_s": round(self.keys_per_s, 1)}


@dataclass
class Preflight:
    source: RedisInventory
    target: RedisInventory
    size_check: bool  # MEMORY USAGE works on the source
    abs_expiry: bool  # PEXPIRETIME works on the source
    restore_checked: bool  # a real source payload was restored on the target


def inspect(endpoint: RedisEndpoint) -> RedisInventory:
    """Keys per database, cluster mode, memory, version; connect/auth failures: RedisUnavailable (exit 3)."""
    with RespConnection(endpoint.url, ca_file=endpoint.ca_file, timeout=30.0) as conn:
        info = _parse_info(conn.check(b"INFO"))
        functions = {name: lib.functions for name, lib in sorted(redis_functions.libraries(conn).items())}
        settings = redis_functions.settings(conn)
    dbs, expires = {}, {}
    for name, value in info.items():
        if name.startswith("db") and name[2:].isdigit() and isinstance(value, dict):
            dbs[int(name[2:])] = int(value.get("keys", 0))
            expires[int(name[2:])] = int(value.get("expires", 0))
    return RedisInventory(
        dbs=dict(sorted(dbs.items())),
        cluster_mode=info.get("cluster_enabled") == "1",
        used_memory=int(info.get("used_memory", 0)),
        version=info.get("redis_version", "unknown"),
        expires=expires,
        role=info.get("role", "master"),
        functions=functions,
        settings=settings,
    )


def _parse_info(raw: bytes) -> dict[str, Any]:
    """INFO as {field: value}; the keyspace lines (db0:keys=..,expires=..) as {dbN: {name: value}}."""
    info: dict[str, Any] = {}
    for line in raw.decode(errors="replace").splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, value = line.split(":", 1)
        if name.startswith("db") and "=" in value:
            info[name] = dict(p.split("=", 1) for p in value.split(","))
        else:
            info[name] = value
    return info


def preflight(source: RedisEndpoint, target: RedisEndpoint) -> Preflight:
    """Refuse cluster mode; restore one real source key on the target under a throwaway name, then drop it."""
    src_inv, tgt_inv = inspect(source), inspect(target)
    for side, endpoint, inv in (("source", source, src_inv), ("target", target, tgt_inv)):
        if inv.cluster_mode:
            raise Refused(
                f"the {side} Redis at {endpoint.shown} runs in cluster mode, which this copy does not "
                "support (keys live on several shards and only in db 0)",
                hint="use a cluster-mode-disabled instance on both sides (the platform's default), or move "
                "the data as an RDB file through object storage (ElastiCache backup export to S3, Memorystore "
                "import from GCS; the target is offline during the import)",
            )
    if tgt_inv.version_tuple() and tgt_inv.version_tuple() < (5, 0):
        raise RedisUnavailable(
            f"the target Redis at {target.shown} is version {tgt_inv.version}: RESTORE ... ABSTTL "
            "needs Redis 5.0 or newer",
            hint="use a Redis 7 target (ElastiCache/Memorystore 7.x)",
        )
    for row in redis_functions.compare_rows(src_inv.settings, tgt_inv.settings):
        if row["same"] is not True:
            log.warning(
                "Redis setting %s: source %s, target %s (a key copy does not carry it: set it through terraform)",
                row["setting"], row["source"], row["target"],
            )
    abs_expiry = not src_inv.version_tuple() or src_inv.version_tuple() >= (7, 0)
    size_check, restore_checked = True, False
    sample_db = next((db for db, n in src_inv.dbs.items() if n > 0), None)
    if sample_db is not None:
        size_check, restore_checked = _sample_restore(source, target, sample_db, src_inv, tgt_inv)
    return Preflight(src_inv, tgt_inv, size_check, abs_expiry, restore_checked)


def _sample_restore(
    source: RedisEndpoint, target: RedisEndpoint, db: int, src_inv: RedisInventory, tgt_inv: RedisInventory
) -> tuple[bool, bool]:
    with RespConnection(source.url, db=db, ca_file=source.ca_file, timeout=30.0) as src:
        key = payload = None
        for _ in range(5):  # RANDOMKEY may pick a key that expires before DUMP, or a big one
            key = src.check(b"RANDOMKEY")
            size = src.call(b"MEMORY", b"USAGE", key) if key is not None else None
            size_check = not is_error(size)
            if key is not None and (not size_check or (size or 0) < DEFAULT_BIG_KEY_BYTES):
                payload = src.check(b"DUMP", key)
                if payload is not None:
                    break
        if not size_check:
            log.warning("MEMORY USAGE is not available on %s: big keys cannot be detected before DUMP", source.shown)
    if payload is None:
        return size_check, False
    probe = b"billingops:migrate:preflight:%d" % time.time_ns()
    with RespConnection(target.url, db=db, ca_file=target.ca_file, timeout=30.0) as tgt:
        reply = tgt.call(b"RESTORE", probe, b"60000", payload, b"REPLACE")
        tgt.call(b"DEL", probe)
    if is_error(reply):
        text = str(reply)
        if "payload version" in text or "checksum" in text:
            raise RedisUnavailable(
                f"the target Redis {tgt_inv.version} at {target.shown} cannot load DUMP payloads from the "
                "source "
                f"Redis {src_inv.version} ({text})",
                hint="create the target with the same or a newer Redis version than the source",
            )
        raise RedisUnavailable(
            f"RESTORE is not usable on the target Redis at {target.shown}: {text}",
            hint="RESTORE must be enabled and allowed for the target user (ACL +restore +del)",
        )
    return size_check, True


def copy(
    source: RedisEndpoint,
    target: RedisEndpoint,
    *,
    dbs: list[int],
    jobs: int,
    replace: bool,
    on_progress: Callable[[dict[str, Any]], None],
    journal_done: set[int],
    on_db_done: Callable[[DbCopyResult], None] | None = None,
    big_key_bytes: int = DEFAULT_BIG_KEY_BYTES,
    parallel_min_keys: int = PARALLEL_MIN_KEYS,
    checked: Preflight | None = None,
) -> list[DbCopyResult]:
    """Copy `dbs` (skipping those in `journal_done`); returns one result per database copied now."""
    checked = checked or preflight(source, target)
    with (
        RespConnection(source.url, ca_file=source.ca_file, timeout=30.0) as src,
        RespConnection(target.url, ca_file=target.ca_file, timeout=30.0) as tgt,
    ):
        libraries = redis_functions.copy(src, tgt, replace=replace)
    if libraries:
        log.info("copied %d Redis function libraries", libraries)
    todo = [db for db in dbs if db not in journal_done]
    specs: list[SliceSpec] = []
    for db in todo:
        keys = checked.source.dbs.get(db, 0)
        parts = max(1, jobs) if keys >= parallel_min_keys else 1
        specs += [
            SliceSpec(
                source_url=source.url,
                target_url=target.url,
                db=db,
                part=part,
                parts=parts,
                source_ca=source.ca_file,
                target_ca=target.ca_file,
                replace=replace,
                big_key_bytes=big_key_bytes,
                size_check=checked.size_check,
                abs_expiry=checked.abs_expiry,
            )
            for part in range(parts)
        ]
    totals = {db: checked.source.dbs.get(db, 0) for db in todo}
    tracker = _Progress(totals, on_progress)
    finished: dict[int, list[SliceCounts]] = {db: [] for db in todo}
    expected = {db: sum(1 for s in specs if s.db == db) for db in todo}
    results: dict[int, DbCopyResult] = {}

    def slice_done(counts: SliceCounts) -> None:
        finished[counts.db].append(counts)
        if len(finished[counts.db]) == expected[counts.db]:
            result = _merge(counts.db, finished[counts.db])
            results[counts.db] = result
            tracker.flush(counts.db)
            if on_db_done is not None:
                on_db_done(result)

    try:
        if jobs <= 1 or len(specs) <= 1:
            redis_parallel.run_inline(specs, tracker.add, slice_done)
        else:
            redis_parallel.run_pool(specs, jobs, tracker.add, slice_done)
    except KeyboardInterrupt:
        raise Interrupted(
            "Redis copy interrupted; databases finished so far are recorded",
            hint="rerun with --resume to copy only the unfinished databases",
        ) from None
    for db in todo:  # a database with no keys has no slice output worth waiting for
        results.setdefault(db, DbCopyResult(db))
    return [results[db] for db in todo]


def _merge(db: int, parts: list[SliceCounts]) -> DbCopyResult:
    result = DbCopyResult(db, seconds=max(p.seconds for p in parts), workers=len(parts))
    for p in parts:
        result.keys_copied += p.copied
        result.keys_expired += p.expired
        result.keys_skipped += p.skipped
        result.big_keys += p.big_keys
        result.skipped_examples = (result.skipped_examples + p.skipped_examples)[:10]
    return result


class _Progress:
    """Aggregates per-slice key counts into throttled {"db", "keys", "total", "keys_per_s"} events."""

    INTERVAL = 0.5

    def __init__(self, totals: dict[int, int], sink: Callable[[dict[str, Any]], None]) -> None:
        self.totals, self.sink = totals, sink
        self.done = dict.fromkeys(totals, 0)
        self.started: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def add(self, db: int, keys: int) -> None:
        now = time.monotonic()
        self.started.setdefault(db, now)
        self.done[db] = self.done.get(db, 0) + keys
        if now - self.last.get(db, 0.0) >= self.INTERVAL:
            self.flush(db, now)

    def flush(self, db: int, now: float | None = None) -> None:
        now = now or time.monotonic()
        self.last[db] = now
        elapsed = now - self.started.get(db, now)
        done = self.done.get(db, 0)
        self.sink(
            {
                "db": db,
                "keys": done,
                "total": max(self.totals.get(db, 0), done),
                "keys_per_s": round(done / elapsed, 1) if elapsed > 0 else 0.0,
            }
        )
