"""Redis verification against real redis-servers: a changed, missing or extra key must fail and be named."""

from __future__ import annotations

import time

import pytest
import redis

from billingops.errors import UsageError
from billingops.transfer.redis import copy as redis_copy
from billingops.transfer.redis import verify as redis_verify
from billingops.transfer.redis.copy import RedisEndpoint
from billingops.transfer.redis.resp import describe_key

KEY = b"invoice:\x00\xfe:42"


def _copied(source_redis, target_redis) -> tuple[RedisEndpoint, RedisEndpoint, redis.Redis, redis.Redis]:
    src_r, dst_r = redis.Redis.from_url(source_redis.url()), redis.Redis.from_url(target_redis.url())
    src_r.mset({f"k{i}": i for i in range(200)})
    src_r.set(KEY, b"amount=10.00")
    src_r.hset("customer:1", mapping={"name": "Zoë", "plan": "pro"})
    src_r.sadd("tags", *[f"t{i}" for i in range(400)])
    src_r.zadd("due", {f"inv{i}": i for i in range(300)})
    src_r.set("session:ttl", "x", px=3_600_000)
    src, dst = RedisEndpoint(source_redis.url()), RedisEndpoint(target_redis.url())
    redis_copy.copy(src, dst, dbs=[0], jobs=1, replace=False, on_progress=lambda e: None, journal_done=set())
    return src, dst, src_r, dst_r


def _verify(src, dst, mode="full"):
    now = int(time.time() * 1000)
    (result,) = redis_verify.verify(src, dst, dbs=[0], mode=mode, copy_started_ms=now - 2000, copy_finished_ms=now)
    return result


@pytest.mark.parametrize("mode", ["counts", "full"])
def test_an_exact_copy_verifies(source_redis, target_redis, mode):
    src, dst, src_r, _ = _copied(source_redis, target_redis)
    result = _verify(src, dst, mode)
    assert result.ok and result.mismatches == []
    assert result.source_keys == result.target_keys == src_r.dbsize()
    assert result.to_dict()["mode"] == mode


def test_a_changed_value_fails_full_verification_naming_the_key(source_redis, target_redis):
    src, dst, _, dst_r = _copied(source_redis, target_redis)
    dst_r.set(KEY, b"amount=99.00", keepttl=True)
    dst_r.hset("customer:1", "plan", "free")

    result = _verify(src, dst)

    assert not result.ok and result.mismatch_count == 2
    assert sorted(result.mismatches) == sorted([describe_key(KEY), "customer:1"])
    assert result.details["customer:1"] == "value differs"
    assert _verify(src, dst, "counts").ok  # counts alone cannot see it: why full is the default


def test_missing_and_extra_keys_fail_both_modes(source_redis, target_redis):
    src, dst, _, dst_r = _copied(source_redis, target_redis)
    dst_r.delete("k7")
    dst_r.set("stray", "1")
    dst_r.set("stray2", "1")

    for mode in ("counts", "full"):
        result = _verify(src, dst, mode)
        assert not result.ok
        assert {"k7", "stray", "stray2"} <= set(result.mismatches), mode
        assert result.details["k7"] == "missing on the target"
        assert result.details["stray"] == "only on the target"


def test_a_changed_expiry_fails_full_verification(source_redis, target_redis):
    src, dst, src_r, dst_r = _copied(source_redis, target_redis)
    dst_r.pexpireat("session:ttl", src_r.pexpiretime("session:ttl") + 600_000)
    dst_r.persist("k3")  # unchanged: k3 had no expiry
    dst_r.pexpire("k4", 3_600_000)

    result = _verify(src, dst)

    assert set(result.mismatches) == {"session:ttl", "k4"}
    assert result.details["k4"].startswith("expiry differs: source no expiry")


def test_equal_values_with_different_dump_payloads_verify(source_redis, target_redis):
    src, dst, src_r, dst_r = _copied(source_redis, target_redis)
    members = [m for m in src_r.smembers("tags")]
    dst_r.delete("tags")
    dst_r.sadd("tags", *sorted(members, reverse=True))  # same set, another insertion history
    assert dst_r.dump("tags") != src_r.dump("tags")

    assert _verify(src, dst).ok


def test_unknown_mode_is_a_usage_error(source_redis, target_redis):
    with pytest.raises(UsageError, match="unknown verification mode"):
        redis_verify.verify(
            RedisEndpoint(source_redis.url()),
            RedisEndpoint(target_redis.url()),
            dbs=[0],
            mode="checksums",
            copy_started_ms=0,
            copy_finished_ms=0,
        )


def test_a_changed_member_of_a_hashtable_set_is_found(source_redis, target_redis):
    src, dst, _, dst_r = _copied(source_redis, target_redis)
    dst_r.srem("tags", "t7")
    dst_r.sadd("tags", "t7-changed")

    result = _verify(src, dst)

    assert not result.ok and result.details == {"tags": "value differs"}
