"""What a key-by-key Redis copy does not carry: function libraries (copied and verified), stream consumer
groups (inside the stream's DUMP), and the settings the app depends on (compared in the plan)."""

from __future__ import annotations

import json
import time

import pytest
import redis

from billingops.transfer.redis import copy as redis_copy
from billingops.transfer.redis import verify as redis_verify
from billingops.transfer.redis.copy import RedisEndpoint
from tests.support import migrate_cli

LIBRARY = """#!lua name=billing
redis.register_function('invoice_total', function(keys, args)
  return redis.call('HINCRBY', keys[1], 'total', args[1])
end)
redis.register_function{function_name='invoice_read',
  callback=function(keys) return redis.call('HGET', keys[1], 'total') end, flags={'no-writes'}}
"""


def _fill(src: redis.Redis) -> None:
    src.function_load(LIBRARY)
    src.hset("invoice:1", "total", 10)
    src.xadd("events", {"kind": "paid", "invoice": "1"}, id="1-1")
    src.xadd("events", {"kind": "refund", "invoice": "2"}, id="2-1")
    src.xgroup_create("events", "mailer", id="0")
    src.xgroup_create("events", "ledger", id="$")
    src.xreadgroup("mailer", "worker-a", {"events": ">"}, count=1)  # one entry pending for worker-a


def _verify(src: RedisEndpoint, dst: RedisEndpoint, mode: str = "full") -> list[dict]:
    now = int(time.time() * 1000)
    checks = redis_verify.verify(src, dst, dbs=[0], mode=mode, copy_started_ms=now - 2000, copy_finished_ms=now)
    return [c.to_dict() for c in checks]


def test_functions_and_consumer_groups_arrive_and_are_verified(source_redis, target_redis):
    src_r, dst_r = redis.Redis.from_url(source_redis.url()), redis.Redis.from_url(target_redis.url())
    _fill(src_r)
    src, dst = RedisEndpoint(source_redis.url()), RedisEndpoint(target_redis.url())
    redis_copy.copy(src, dst, dbs=[0], jobs=1, replace=False, on_progress=lambda e: None, journal_done=set())

    assert dst_r.fcall("invoice_total", 1, "invoice:1", 5) == 15  # the library runs on the target
    assert dst_r.fcall_ro("invoice_read", 1, "invoice:1") == b"15"
    for name in ("mailer", "ledger"):
        mine = next(g for g in src_r.xinfo_groups("events") if g["name"] == name.encode())
        theirs = next(g for g in dst_r.xinfo_groups("events") if g["name"] == name.encode())
        assert mine == theirs
    assert dst_r.xpending("events", "mailer")["pending"] == 1
    assert dst_r.xpending_range("events", "mailer", "-", "+", 10)[0]["consumer"] == b"worker-a"

    dst_r.hset("invoice:1", "total", 10)  # undo the FCALL above
    for mode in ("counts", "full"):
        found = _verify(src, dst, mode)
        assert all(c["ok"] for c in found), found
        assert found[-1]["db"] == "functions" and found[-1]["source_keys"] == 1

    dst_r.function_delete("billing")
    dst_r.function_load(LIBRARY.replace("'total'", "'sum'"))
    functions = _verify(src, dst)[-1]
    assert not functions["ok"] and functions["mismatches"] == ["library billing: code differs"]
    dst_r.function_delete("billing")
    assert _verify(src, dst, "counts")[-1]["mismatches"] == ["library billing: missing on the target"]


def test_a_resumed_copy_keeps_functions_already_restored(source_redis, target_redis):
    src_r = redis.Redis.from_url(source_redis.url())
    _fill(src_r)
    src, dst = RedisEndpoint(source_redis.url()), RedisEndpoint(target_redis.url())
    for _ in range(2):  # the second copy meets the libraries the first restored: no "already exists" error
        redis_copy.copy(src, dst, dbs=[0], jobs=1, replace=False, on_progress=lambda e: None, journal_done={0})
    libraries = redis.Redis.from_url(target_redis.url()).function_list()
    assert [lib[1] for lib in libraries] == [b"billing"]  # [library_name, name, engine, ...]


@pytest.mark.slow
def test_dry_run_shows_functions_and_setting_differences(run_cli, source_redis, target_redis):
    src_r = redis.Redis.from_url(source_redis.url())
    _fill(src_r)
    src_r.config_set("maxmemory-policy", "allkeys-lru")
    src_r.config_set("notify-keyspace-events", "Ex")
    try:
        result = run_cli(*migrate_cli.args("--only", "redis", "--source-redis", source_redis.url(),
                                           "--target-redis", target_redis.url(), "--dry-run"))
    finally:
        src_r.config_set("maxmemory-policy", "noeviction")
        src_r.config_set("notify-keyspace-events", "")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["redis"]["source"]["functions"] == {"billing": ["invoice_read", "invoice_total"]}
    assert doc["redis"]["source"]["settings"]["maxmemory-policy"] == "allkeys-lru"
    assert "ACL users and passwords" in doc["redis"]["source"]["not_carried_by_key_copy"]
    steps = "\n".join(doc["would_do"])
    assert "copy 1 Redis function libraries with FUNCTION DUMP / FUNCTION RESTORE and verify them: billing" in steps
    assert "DIFFERENCE: Redis maxmemory-policy is 'allkeys-lru' on the source and 'noeviction' on the target" in steps
    assert "DIFFERENCE: Redis notify-keyspace-events is" in steps
    assert "Redis ACL users and passwords: not copied" in steps


@pytest.mark.slow
def test_migrate_cloud_carries_functions_and_groups_end_to_end(run_cli, source_redis, target_redis):
    _fill(redis.Redis.from_url(source_redis.url()))
    result = run_cli(*migrate_cli.args("--only", "redis", "--source-redis", source_redis.url(),
                                       "--target-redis", target_redis.url()))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"]
    functions = next(c for c in doc["redis"]["verification"] if c["db"] == "functions")
    assert functions["ok"] and functions["source_keys"] == functions["target_keys"] == 1
    dst_r = redis.Redis.from_url(target_redis.url())
    assert dst_r.fcall_ro("invoice_read", 1, "invoice:1") == b"10"
    assert dst_r.xpending("events", "mailer")["pending"] == 1
