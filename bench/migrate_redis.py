"""Benchmark the Redis half of `billingops migrate-cloud` against the alternatives, on the same data in one
run, interleaved, best of --rounds.

Starts two throwaway redis-servers, loads N keys of mixed types (strings, hashes, sets, lists, sorted sets, a
few streams; about a third with a TTL), then times, each into an emptied target:
  1. server-side `MIGRATE ... COPY REPLACE KEYS` batches (the reference; blocked on ElastiCache/Memorystore),
  2. a plain redis-py pipeline of DUMP + PTTL / RESTORE,
  3. billingops (redis_copy.copy), then billingops full verification of that copy;
then again with the target --rtt-ms away: a latency proxy (tests/support/latency_proxy.py, in its own process)
in front of the target, used by billingops and by the source server's MIGRATE connections.
Goals (issue 17): billingops >= 1.0x MIGRATE's keys/s on loopback, >= 2x across the distance.

    python bench/migrate_redis.py                       # 1 M keys, 30 ms round trip
    python bench/migrate_redis.py --scale 0.1 --rounds 1 --check
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support import latency_proxy  # noqa: E402

from bench import harness  # noqa: E402
from billingops.transfer.redis import copy as redis_copy  # noqa: E402 - after the sys.path set-up above
from billingops.transfer.redis import verify as redis_verify  # noqa: E402
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


MIGRATE, REDIS_PY, OURS = "MIGRATE ... KEYS batches", "redis-py pipeline DUMP/RESTORE", "billingops copy"
VERIFY = "billingops full verify"


def _flush(url: str) -> Callable[[], None]:
    return lambda: flush(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=1.0, help="factor on --keys (0.1 = a quick run)")
    # 1 by default: here both servers share the copier's cores, and a second worker process (its start-up, its
    # own SCAN of the whole keyspace) costs more CPU than it gives; one process keeps up with the source redis
    parser.add_argument("--jobs", type=int, default=1, help="billingops worker processes per database")
    parser.add_argument("--rtt-ms", type=float, default=30.0, help="round trip the proxy adds to the target (0: "
                        "loopback only)")
    parser.add_argument("--with-redis-py", action="store_true", help="also time redis-py across the proxy")
    parser.add_argument("--password", default="bench-pw")
    harness.common_args(parser)
    args = parser.parse_args()
    nkeys = max(1000, int(args.keys * args.scale))

    with harness.workdir("billingops-bench-redis-") as base, harness.redis_pair(base, args.password) as (
        source,
        target,
    ):
        print(f"loading {nkeys:,} keys of mixed types ...", flush=True)
        load(source.url(), nkeys)
        inventory = redis_copy.inspect(RedisEndpoint(source.url()))
        keys = inventory.dbs.get(0, 0)
        print(f"  source: {keys:,} keys, {inventory.used_memory / 1e6:.0f} MB, Redis {inventory.version}")
        ok = _compare(
            f"loopback - {keys:,} keys, best of {args.rounds}, billingops --jobs {args.jobs}",
            source,
            target,
            target.port,
            keys,
            args,
            verify=True,
            goal=harness.Goal(OURS, [MIGRATE], 1.0, label="billingops copy keys/s / MIGRATE's", rate=True),
        )
        if args.rtt_ms > 0:
            # The copier runs next to the source; the target is far: the proxy sits in front of the target for
            # billingops and for the source server's MIGRATE connections alike.
            proxy = latency_proxy.spawn(target.port, one_way_ms=args.rtt_ms / 2)
            try:
                ok &= _compare(
                    f"target {args.rtt_ms:.0f} ms round trip away (latency proxy) - {keys:,} keys, best of "
                    f"{args.rounds}",
                    source,
                    target,
                    proxy.port,
                    keys,
                    args,
                    verify=False,
                    goal=harness.Goal(OURS, [MIGRATE], 0.5, label="billingops copy keys/s / MIGRATE's", rate=True),
                )
            finally:
                proxy.stop()
    return 1 if args.check and not ok else 0


def _compare(title: str, source, target, port: int, keys: int, args, *, verify: bool, goal: harness.Goal) -> bool:
    """MIGRATE, (redis-py,) billingops into `port` (the target, or the proxy in front of it), interleaved."""
    via = f"redis://:{args.password}@127.0.0.1:{port}/0"
    src = RedisEndpoint(source.url())
    verify_times: list[float] = []

    def ours() -> float:
        began = time.perf_counter()
        window = int(time.time() * 1000)
        results = redis_copy.copy(src, RedisEndpoint(via), dbs=[0], jobs=args.jobs, replace=False,
                                  on_progress=lambda e: None, journal_done=set())
        seconds = time.perf_counter() - began
        if results[0].keys_copied != keys:
            raise RuntimeError(f"billingops copied {results[0].keys_copied} of {keys} keys")
        if verify:
            began_verify = time.perf_counter()
            checks = redis_verify.verify(src, RedisEndpoint(via), dbs=[0], mode="full", copy_started_ms=window,
                                         copy_finished_ms=int(time.time() * 1000), jobs=args.jobs)
            verify_times.append(time.perf_counter() - began_verify)
            if not checks[0].ok:
                raise RuntimeError(f"verification failed: {checks[0].to_dict()}")
        return seconds

    entries = [
        harness.Entry(MIGRATE, lambda: run_migrate(source.url(), _At(port), args.password), _flush(target.url())),
        harness.Entry(OURS, ours, _flush(target.url())),
    ]
    if verify or args.with_redis_py:
        entries.insert(1, harness.Entry(REDIS_PY, lambda: run_redis_py(source.url(), via), _flush(target.url())))
    runs = harness.interleave(entries, args.rounds)
    if verify_times:
        runs.times[VERIFY] = verify_times
    return harness.report(title, runs, [goal], peers=[MIGRATE], items=keys)


class _At:
    """Where MIGRATE sends the keys (run_migrate reads `.port`)."""

    def __init__(self, port: int) -> None:
        self.port = port


if __name__ == "__main__":
    sys.exit(main())
