"""Estimate how long a Redis copy will take from a short, read-only sample of the source (for --dry-run).

The sample runs the copy's own read path (SCAN + MEMORY USAGE + DUMP + PEXPIRETIME, pipelined) for about a
second and nothing is written anywhere. Writing RESTOREs overlaps with reading in the real copy, so the copy
runs at a fraction of the read rate; COPY_FACTOR is that fraction as measured by bench/migrate_redis.py.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from billingops.transfer.redis.copy import RedisEndpoint, RedisInventory
from billingops.transfer.redis.resp import RespConnection
from billingops.transfer.redis.scan import dump_commands, scan_batches
from billingops.transfer.redis.worker import SliceSpec

log = logging.getLogger(__name__)

COPY_FACTOR = 0.6  # copy keys/s / read-only keys/s on the benchmark data
VERIFY_FACTOR = 0.7  # full verification reads both servers


def estimate(
    source: RedisEndpoint, inventory: RedisInventory, *, sample_seconds: float = 1.0, verify: str = "full"
) -> dict[str, Any]:
    """{"keys", "sampled_keys", "read_keys_per_s", "copy_seconds", "verify_seconds", "seconds"}"""
    total = inventory.total_keys
    db = next((db for db, n in inventory.dbs.items() if n), None)
    if db is None:
        return {
            "keys": 0,
            "sampled_keys": 0,
            "read_keys_per_s": 0.0,
            "copy_seconds": 0.0,
            "verify_seconds": 0.0,
            "seconds": 0.0,
        }
    spec = SliceSpec(
        source.url,
        source.url,
        db,
        source_ca=source.ca_file,
        abs_expiry=not inventory.version_tuple() or inventory.version_tuple() >= (7, 0),
    )
    sampled = 0
    with RespConnection(source.url, db=db, ca_file=source.ca_file, timeout=30.0) as src:
        started = time.monotonic()
        for keys, big in scan_batches(src, spec):
            if keys:
                src.send(dump_commands(keys, spec.abs_expiry))
                src.read(2 * len(keys))
            sampled += len(keys) + len(big)
            if time.monotonic() - started >= sample_seconds:
                break
        elapsed = max(time.monotonic() - started, 1e-3)
    rate = sampled / elapsed
    copy_s = total / (rate * COPY_FACTOR) if rate else 0.0
    verify_s = total / (rate * VERIFY_FACTOR) if verify == "full" and rate else 0.5  # counts: DBSIZE per db
    return {
        "keys": total,
        "sampled_keys": sampled,
        "read_keys_per_s": round(rate, 1),
        "copy_seconds": round(copy_s, 3),
        "verify_seconds": round(verify_s, 3),
        "seconds": round(copy_s + verify_s, 3),
    }
