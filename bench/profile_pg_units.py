#!/usr/bin/env python3
"""The fixed cost of each per-table step of a billingops PostgreSQL migration, timed in isolation on the 530
small tables of bench/pg_shapes.py shape (b): one COPY pipe, the same pipe without the watcher's 0.2 s poll,
one table's index restore, one foreign key restore, one journal save at the run's final size. Multiply by the
table count and divide by --jobs to see which floor a many-table migration stands on.

    python bench/profile_pg_units.py --samples 12
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness, pg_shapes, profile_pg  # noqa: E402  # after the sys.path change, on purpose
from billingops import redact  # noqa: E402
from billingops.runs import journal  # noqa: E402
from billingops.transfer.postgres import copy as postgres_copy  # noqa: E402
from billingops.transfer.postgres import schema as postgres_schema  # noqa: E402
from billingops.transfer.postgres import units as postgres_units  # noqa: E402
from billingops.transfer.postgres.conn import PgEndpoint  # noqa: E402
from billingops.transfer.postgres.inspect import inspect  # noqa: E402


def _median_ms(fn, samples: int) -> tuple[float, float]:
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--scale", type=float, default=0.02)
    args = parser.parse_args()
    n = args.samples
    with harness.workdir("billingops-units-") as base, harness.postgres_pair(base) as (src, dst):
        source_url = src.createdb("shape")
        pg_shapes.load_many(source_url, args.scale)
        target_url = dst.createdb("target")
        source, target = PgEndpoint.parse(source_url, "source", "--source"), PgEndpoint.parse(
            target_url, "target", "--target")
        work = base / "work"
        work.mkdir()
        with source.connect(read_only=True) as conn:
            tables = inspect(conn).tables
        print(f"{len(tables)} tables; load average {__import__('os').getloadavg()[0]:.1f}; median (min) of {n}\n")

        began = time.perf_counter()
        dump = postgres_schema.dump_schema(source, work)
        took = (time.perf_counter() - began) * 1000
        print(f"  schema: pg_dump --schema-only -Fc (postgres_schema.py:49)        {took:8.0f} ms")
        began = time.perf_counter()
        postgres_schema.restore_pre_data(target, dump, work)
        took = (time.perf_counter() - began) * 1000
        print(f"  schema: pre-data restore, one transaction (postgres_schema.py:266) {took:6.0f} ms")
        with source.connect(read_only=True) as conn:
            plan = postgres_schema.plan_post_data(dump, conn, {t.key for t in tables})

        holder = postgres_copy.SnapshotHolder(source)
        small = sorted(tables, key=lambda t: t.bytes)[: max(n, 2)]
        units = iter([postgres_units.Unit(t) for t in small * 2])
        copy = lambda: postgres_copy.copy_unit(next(units), source, target, holder.snapshot)  # noqa: E731
        med, low = _median_ms(copy, n)
        print(f"  per table: COPY pipe, 2 psql (postgres_copy.py:154)               {med:8.0f} ms ({low:.0f})")
        real_sleep = time.sleep
        with mock.patch.object(postgres_copy.time, "sleep", lambda s: real_sleep(min(s, 0.005))):
            med5, low5 = _median_ms(copy, n)
        print(f"  per table: the same, watcher polling every 5 ms not 200 (:265)     {med5:8.0f} ms ({low5:.0f})")
        holder.close()

        keyed = iter(sorted(plan.per_table))

        def index() -> None:
            key = next(keyed)
            postgres_schema.restore_entries(target, dump, work, key, plan.per_table[key], jobs=1,
                                            tolerate_existing=False)

        med, low = _median_ms(index, n)
        print(f"  per table: its indexes + keys, one pg_restore (postgres_schema.py:219) {med:6.0f} ms ({low:.0f})")
        for key in list(keyed):  # every key built, so any foreign key can be added
            postgres_schema.restore_entries(target, dump, work, key, plan.per_table[key], jobs=1,
                                            tolerate_existing=False)
        copied = {t.key for t in small}
        # a referencing table with rows whose referenced table stayed empty would fail: take the empty ones
        fks = iter([fk for fk in plan.foreign_keys if fk.table not in copied])

        def foreign_key() -> None:
            fk = next(fks)
            postgres_schema.restore_entries(target, dump, work, "fk", [fk.entry], jobs=1, tolerate_existing=False)

        med, low = _median_ms(foreign_key, n)
        print(f"  per FK: one pg_restore of one FK entry (postgres_migrate.py:264)    {med:8.0f} ms ({low:.0f})")

        state = {
            "postgres": {
                "tables_done": [t.key for t in tables],
                "tables_indexed": [t.key for t in tables],
                "foreign_keys_done": [fk.entry for fk in plan.foreign_keys],
            }
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "run.json"
            med, low = _median_ms(lambda: journal.atomic_write_json(path, state), n)
            print(f"  per event: journal save at the final size (journal.py:31)        {med:8.1f} ms ({low:.1f})"
                  f"  x{len(tables) * 2 + len(plan.foreign_keys)} events")
            med, low = _median_ms(lambda: redact.redact_data(state), n)
            print(f"    of which redact_data over the state (redact.py:89)             {med:8.1f} ms ({low:.1f})")
        profile_pg._fixed_costs(source_url, target_url, base / "again.dump", runs=n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
