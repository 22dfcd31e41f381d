"""The whole command: PostgreSQL and Redis in one run, as on a real cutover (Redis: AUTH, TLS + CA)."""

from __future__ import annotations

import json

import psycopg
import pytest
import redis

pytestmark = pytest.mark.slow


def fill(server) -> None:
    for db, count in ((0, 500), (3, 50)):
        client = redis.Redis.from_url(server.url(db))
        pipe = client.pipeline()
        for i in range(count):
            pipe.set(f"session:{i}", f"user-{i}", ex=3600 if i % 2 else None)
        pipe.hset("plan:pro", mapping={"price": "49.50", "seats": "10", "name": "Pró ✓"})
        pipe.rpush("queue:invoices", *[f"inv-{i}" for i in range(20)])
        pipe.zadd("leaderboard", {"a": 1.5, "b": 2.0})
        pipe.set(b"bin:\x00\xff", b"\x00\x01\xfe\xff")
        pipe.execute()
        client.close()


def migrate(run_cli, pg_source, pg_target, redis_source, redis_target, *extra):
    return run_cli(
        "migrate-cloud",
        "gcp",
        "aws",
        "--env",
        "staging",
        "--source-postgres",
        pg_source,
        "--target-postgres",
        pg_target,
        "--source-redis",
        redis_source,
        "--target-redis",
        redis_target,
        "--json",
        "--no-lock",
        *extra,
    )


def test_postgres_and_redis_in_one_run(run_cli, billing_source, empty_target, source_redis, target_redis):
    fill(source_redis)
    result = migrate(run_cli, billing_source, empty_target, source_redis.url(), target_redis.url())
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["postgres"]["verification"]["ok"]
    checks = {d["db"]: d for d in doc["redis"]["verification"]}
    assert set(checks) == {0, 3} and all(d["ok"] for d in checks.values())
    assert checks[0]["source_keys"] == checks[0]["target_keys"] == 504
    dst = redis.Redis.from_url(target_redis.url(3))
    assert dst.get(b"bin:\x00\xff") == b"\x00\x01\xfe\xff"
    assert dst.hget("plan:pro", "name").decode() == "Pró ✓"
    assert 3500 < dst.ttl("session:1") <= 3600 and dst.ttl("session:2") == -1
    assert "redis-test-pw" not in result.stdout + result.stderr
    assert doc["endpoints"]["source_redis"].startswith("redis://:***@")
    events = {json.loads(line)["event"] for line in result.stderr.splitlines() if line.startswith("{")}
    assert {"table_done", "redis_progress"} <= events


def test_tls_target_with_ca_file(run_cli, billing_source, empty_target, source_redis, tls_redis):
    fill(source_redis)
    result = migrate(
        run_cli,
        billing_source,
        empty_target,
        source_redis.url(),
        tls_redis.tls_url(),
        "--target-redis-ca",
        str(tls_redis.ca_file),
        "--verify",
        "counts",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"]
    assert redis.Redis.from_url(tls_redis.url(0)).dbsize() == 504


def test_refuses_a_target_redis_with_keys_then_replaces_it(
    run_cli, billing_source, empty_target, source_redis, target_redis
):
    fill(source_redis)
    redis.Redis.from_url(target_redis.url(5)).set("someone-elses", "data")
    result = migrate(run_cli, billing_source, empty_target, source_redis.url(), target_redis.url())
    assert result.returncode == 4, result.stderr
    assert "target Redis" in result.stderr and "holds 1 key" in result.stderr
    with psycopg.connect(empty_target) as conn:  # refused before anything moved
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'billing'").fetchone() == (0,)
    result = migrate(
        run_cli,
        billing_source,
        empty_target,
        source_redis.url(),
        target_redis.url(),
        "--replace-target",
        "--yes",
    )
    assert result.returncode == 0, result.stderr
    assert redis.Redis.from_url(target_redis.url(5)).dbsize() == 0


def test_dry_run_reports_keys_per_db(run_cli, billing_source, empty_target, source_redis, target_redis):
    fill(source_redis)
    result = migrate(
        run_cli, billing_source, empty_target, source_redis.url(), target_redis.url(), "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["redis"]["source"]["dbs"] == {"0": 504, "3": 54}
    assert doc["redis"]["target_keys"] == 0
    assert redis.Redis.from_url(target_redis.url(0)).dbsize() == 0


def test_redis_copies_with_one_worker_whatever_postgres_jobs_says(run_cli, source_redis, target_redis):
    # --jobs is PostgreSQL's: on one source server a second Redis worker re-SCANs the keyspace for nothing.
    from billingops.transfer.redis.copy import PARALLEL_MIN_KEYS

    client = redis.Redis.from_url(source_redis.url(5))
    client.mset({f"k{i}": i for i in range(PARALLEL_MIN_KEYS + 10)})  # big enough to be split into slices
    client.close()
    common = ("migrate-cloud", "gcp", "aws", "--env", "staging", "--only", "redis", "--source-redis",
              source_redis.url(), "--target-redis", target_redis.url(), "--json", "--no-lock", "--verify", "counts")
    result = run_cli(*common, "--jobs", "3")
    assert result.returncode == 0, result.stderr
    copied = {d["db"]: d for d in json.loads(result.stdout)["redis"]["copied"]}
    assert copied[5]["workers"] == 1 and copied[5]["keys_copied"] == PARALLEL_MIN_KEYS + 10

    again = run_cli(*common, "--redis-jobs", "2", "--replace-target", "--yes")
    assert again.returncode == 0, again.stderr
    copied = {d["db"]: d for d in json.loads(again.stdout)["redis"]["copied"]}
    assert copied[5]["workers"] == 2


def test_redis_jobs_out_of_range_is_a_usage_error(run_cli):
    result = run_cli("migrate-cloud", "gcp", "aws", "--env", "staging", "--only", "redis", "--source-redis",
                     "redis://127.0.0.1:1/0", "--target-redis", "redis://127.0.0.1:2/0", "--redis-jobs", "0")
    assert result.returncode == 2, result.stderr
    assert "--redis-jobs must be between 1 and 64" in result.stderr
