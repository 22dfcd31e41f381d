"""Dry-run estimate: read a short sample of the biggest table and extrapolate, plus what every object costs.

The model is deliberately simple and stated in the output: data time = bytes / (sampled read rate x workers) x
2 (the target writes what the source reads, on similar hardware), and post-data (indexes, constraints) adds
60% of that, as measured on billing-like data (index builds were 40-55% of the total there). Each table then
costs a fixed time (two psql children, a pg_restore for its indexes, a checksum query per side) shared by
the workers, each schema object a fixed time to dump and restore, each large object one round trip per side:
measured on the PostgreSQL regression database (536 tables, 42 MB, some 1,750 schema objects: 277 s, of
which 264 s copying tables with 2 workers), where those fixed costs are nearly all of the run.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from billingops.transfer.postgres import checksum as postgres_checksum
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import Inventory, quote_ident

log = logging.getLogger(__name__)

SAMPLE_BLOCKS = 2048  # 16 MiB of heap
WRITE_FACTOR = 2.0
POST_DATA_FACTOR = 0.6
PER_TABLE_SECONDS = 0.9  # per table and worker: copy pipe, index restore, verification queries
PER_OBJECT_SECONDS = 0.002  # per schema object: pg_dump, pg_restore
PER_LARGE_OBJECT_SECONDS = 0.004
FIXED_SECONDS = 3.0  # connections, snapshot, dump start, sequences


def overhead(inventory: Inventory, jobs: int) -> float:
    """Seconds a migration spends apart from moving bytes: per table, per schema object, per large object."""
    objects = sum(n for kind, n in inventory.object_counts.items() if kind not in ("large objects", "comments"))
    return (
        FIXED_SECONDS
        + PER_TABLE_SECONDS * len(inventory.tables) / max(1, jobs)
        + PER_OBJECT_SECONDS * objects
        + PER_LARGE_OBJECT_SECONDS * inventory.large_objects
    )


def estimate(source: PgEndpoint, inventory: Inventory, jobs: int) -> dict[str, Any]:
    model = " ".join(__doc__.split("\n\n")[1].split())
    fixed = overhead(inventory, jobs)
    if not inventory.tables or inventory.total_bytes == 0:
        return {
            "seconds": round(fixed, 1),
            "data_seconds": 0.0,
            "overhead_seconds": round(fixed, 1),
            "sample_bytes": 0,
            "read_mb_per_s": None,
            "model": model,
        }
    table = inventory.tables[0]
    blocks = min(SAMPLE_BLOCKS, max(1, table.pages))
    cols = postgres_checksum.aliased([quote_ident(c) for c in table.columns])
    row = postgres_checksum.ROW_ALIAS
    query = (
        f"SELECT count(*), coalesce(sum(octet_length({row}::text)), 0) FROM (SELECT {cols} FROM ONLY "  # nosec B608  # noqa: S608  # quoted identifiers
        f"{table.qualified()} WHERE ctid < '({blocks},0)'::tid) {row}"
    )
    with source.connect(read_only=True) as conn:
        started = time.monotonic()
        conn.execute(query).fetchone()
        seconds = max(time.monotonic() - started, 1e-3)
    sample_bytes = blocks * 8192 if table.pages else table.bytes
    rate = sample_bytes / seconds
    data = inventory.total_bytes / (rate * max(1, jobs)) * WRITE_FACTOR
    total = data * (1 + POST_DATA_FACTOR) + fixed
    return {
        "seconds": round(total, 1),
        "data_seconds": round(data, 1),
        "overhead_seconds": round(fixed, 1),
        "sample_table": table.key,
        "sample_bytes": sample_bytes,
        "read_mb_per_s": round(rate / 1e6, 1),
        "model": model,
    }
