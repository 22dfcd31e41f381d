"""Dry-run estimate: read a short sample of the biggest table and extrapolate.

The model is deliberately simple and stated in the output: data time = bytes / (sampled read rate x workers) x
2 (the target writes what the source reads, on similar hardware), and post-data (indexes, constraints) adds
60% of that, as measured on billing-like data (index builds were 40-55% of the total there).
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


def estimate(source: PgEndpoint, inventory: Inventory, jobs: int) -> dict[str, Any]:
    if not inventory.tables or inventory.total_bytes == 0:
        return {"seconds": 0.0, "sample_bytes": 0, "read_mb_per_s": None, "model": __doc__.split("\n\n")[1]}
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
    total = data * (1 + POST_DATA_FACTOR)
    return {
        "seconds": round(total, 1),
        "data_seconds": round(data, 1),
        "sample_table": table.key,
        "sample_bytes": sample_bytes,
        "read_mb_per_s": round(rate / 1e6, 1),
        "model": " ".join(__doc__.split("\n\n")[1].split()),
    }
