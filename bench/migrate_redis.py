"""Benchmark the Redis half of `billingops migrate-cloud` against the alternatives, on the same data in one
run.

Starts two throwaway redis-servers, loads N keys of mixed types (strings, hashes, sets, lists, sorted sets, a
few streams; about a third with a TTL), then times, each into an emptied target:
  1. server-side `MIGRATE ... COPY REPLACE KEYS` batches (the reference; blocked on ElastiCache/Memorystore),
  2. a plain redis-py pipeline of DUMP + PTTL / RESTORE,
  3. billingops (redis_copy.copy), then billingops full verification of that copy.
Prints keys/s for each and the ratios (targets: billingops >= 0.6x MIGRATE; verification >= copy speed).

    python bench/migrate_redis.py --keys 1000000 --jobs 1
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support import servers  # noqa: E402

from billingops.transfer import redis_copy, redis_verify  # noqa: E402 - after the sys.path set-up above
from billingops.transfer.redis.copy import RedisEndpoint  # noqa: E402
from billingops.transfer.redis.resp import RespConnection, encode  # noqa: E402


def load(url: str, keys: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    with RespConnection(url) as conn:
        batch: list[bytes] = []
        for i in range(keys):
            kind = rng.random()
            if kind < 0.60:
                key = b"sess:%d" % i
                batch.append(encode(b"SET", key, rng.randbytes(rng.randint(16, 200))))
            elif kind < 0.75:
                key = b"cust:%d" % i
                batch.append(
                    encode(
                        b"HSET",
                        key,
                        b"name",
                        b"customer %d" % i,
                        b"plan",
                        b"pro",
                        b"mrr",
                        b"%d" % rng.randint(10, 9000),
                        b"country",
                        b"DE",
                    )
                )
            elif kind < 0.85:
                key = b"tags:%d" % i
                batch.append(encode(b"SADD", key, *[b"t%d" % rng.randint(0, 50) for _ in range(8)]))
            elif kind < 0.90:
                key = b"events:%d" % i
                batch.append(encode(b"RPUSH", key, *[b"evt-%d" % j for j in range(10)]))
            elif kind < 0.9995:
                key = b"due:%d" % i
                batch.append(encode(b"ZADD", key, *[x for j in range(6) for x in (b"%d" % (now + j), b"inv%d" % j)]))
            else:
                key = b"stream:%d" % i
                batch.extend(encode(b"XADD", key, b"*", b"n", b"%d" % j) for j in range(20))
            if rng.random() < 0.33:
                batch.append(encode(b"PEXPIREAT", key, now + rng.randint(3_600_000, 86_400_000)))
            if len(batch) >= 5000:
                conn.send(b"".join(batch))
                conn.read(len(batch))
                batch = []
        if batch:
            conn.send(b"".join(batch))
            conn.read(len(batch))


def flush(url: str) -> None:
    with RespConnection(url) as conn:
        conn.check(b"FLUSHALL")


def run_migrate(source_url: str, target, password: str | None) -> None:
    with RespConnection(source_url, timeout=120) as conn:
        cursor = b"0"
        auth = [b"AUTH", password.encode()] if password else []
        while True:
            cursor, keys = conn.check(b"SCAN", cursor, b"COUNT", 1000)
            if keys:
                conn.check(
                    b"MIGRATE",
                    b"127.0.0.1",
                    b"%d" % target.port,
                    b"",
                    b"0",
                    b"60000",
                    b"COPY",
                    b"REPLACE",
                    *auth,
                    b"KEYS",
                    *keys,
                )
            if cursor == b"0":
                return


def run_redis_py(source_url: str, target_url: str) -> None:
    import redis

    src, dst = redis.Redis.from_url(source_url), redis.Redis.from_url(target_url)
    cursor = 0
    while True:
        cursor, keys = src.scan(cursor, count=1000)
        if keys:
            pipe = src.pipeline(transaction=False)
            for key in keys:
                pipe.dump(key)
                pipe.pttl(key)
            replies = pipe.execute()
            out = dst.pipeline(transaction=False)
            for key, payload, ttl in zip(keys, replies[0::2], replies[1::2], strict=True):
                if payload is not None and ttl != -2:
                    out.restore(key, max(ttl, 0), payload, replace=True)
            out.execute()
        if cursor == 0:
            return


def timed(label: str, fn) -> float:
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<34} {seconds:8.2f} s", flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=1, help="billingops worker processes per database")
    parser.add_argument("--password", default="bench-pw")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="billingops-bench-redis-"))
    (base / "src").mkdir()
    (base / "dst").mkdir()
    source = servers.start_redis(base / "src", password=args.password)
    target = servers.start_redis(base / "dst", password=args.password)
    try:
        print(f"loading {args.keys:,} keys of mixed types ...", flush=True)
        timed("load", lambda: load(source.url(), args.keys))
        inventory = redis_copy.inspect(RedisEndpoint(source.url()))
        keys = inventory.dbs.get(0, 0)
        print(f"  source: {keys:,} keys, {inventory.used_memory / 1e6:.0f} MB, Redis {inventory.version}")
        src, dst = RedisEndpoint(source.url()), RedisEndpoint(target.url())

        flush(target.url())
        t_migrate = timed("MIGRATE ... KEYS batches", lambda: run_migrate(source.url(), target, args.password))
        flush(target.url())
        t_py = timed("redis-py pipeline DUMP/RESTORE", lambda: run_redis_py(source.url(), target.url()))
        flush(target.url())
        copy_window: dict[str, int] = {"start": int(time.time() * 1000)}
        results: list = []
        t_copy = timed(
            f"billingops copy (jobs={args.jobs})",
            lambda: results.extend(
                redis_copy.copy(
                    src,
                    dst,
                    dbs=[0],
                    jobs=args.jobs,
                    replace=False,
                    on_progress=lambda e: None,
                    journal_done=set(),
                )
            ),
        )
        copy_window["end"] = int(time.time() * 1000)
        checks: list = []
        t_verify = timed(
            f"billingops full verify (jobs={args.jobs})",
            lambda: checks.extend(
                redis_verify.verify(
                    src,
                    dst,
                    dbs=[0],
                    mode="full",
                    copy_started_ms=copy_window["start"],
                    copy_finished_ms=copy_window["end"],
                    jobs=args.jobs,
                )
            ),
        )
        copied = results[0]
        if copied.keys_copied != keys or not checks[0].ok:
            print(f"FAILED: copied {copied.keys_copied} of {keys}; verification {checks[0].to_dict()}")
            return 1

        rate = {
            name: keys / t
            for name, t in (
                ("migrate", t_migrate),
                ("redis_py", t_py),
                ("copy", t_copy),
                ("verify", t_verify),
            )
        }
        print(
            f"\nkeys/s: MIGRATE {rate['migrate']:,.0f} | redis-py {rate['redis_py']:,.0f} | "
            f"billingops copy {rate['copy']:,.0f} | billingops verify {rate['verify']:,.0f}"
        )
        print(f"billingops copy / MIGRATE   = {rate['copy'] / rate['migrate']:.2f}x  (target >= 0.60x)")
        print(f"billingops copy / redis-py  = {rate['copy'] / rate['redis_py']:.2f}x")
        print(f"verify / copy speed         = {rate['verify'] / rate['copy']:.2f}x  (target >= 1.00x)")
        return 0
    finally:
        source.stop()
        target.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
