"""URL parsing and the RESP encoder of the Redis copy's hot path (no server needed)."""

from __future__ import annotations

import pytest

from billingops.errors import EXIT_USAGE, ConfigError
from billingops.transfer.redis.resp import describe_key, encode, parse_url


def test_parse_url_reads_acl_user_encoded_password_db_and_tls():
    parsed = parse_url("rediss://billing:p%40ss%3Aw%2Frd@10.0.0.5:6378/4?ssl_check_hostname=false")
    assert (parsed.username, parsed.password, parsed.host, parsed.port, parsed.db) == (
        "billing",
        "p@ss:w/rd",
        "10.0.0.5",
        6378,
        4,
    )
    assert parsed.tls and parsed.verify and not parsed.check_hostname
    plain = parse_url("redis://cache.internal")
    assert (plain.port, plain.db, plain.tls, plain.password) == (6379, 0, False, None)


@pytest.mark.parametrize(
    "url",
    [
        "http://:pw-secret-1@host:6379/0",
        "redis://:pw-secret-1@host:6379/cache",
        "redis://:pw-secret-1@:6379/0",
    ],
)
def test_bad_urls_are_usage_errors_that_hide_the_password(url):
    with pytest.raises(ConfigError) as err:
        parse_url(url)
    assert err.value.exit_code == EXIT_USAGE
    assert "pw-secret-1" not in err.value.paragraph() and err.value.hint


def test_encode_is_binary_safe_resp():
    assert encode(b"SET", b"k\r\n\x00", 5) == b"*3\r\n$3\r\nSET\r\n$4\r\nk\r\n\x00\r\n$1\r\n5\r\n"


def test_describe_key_escapes_and_truncates():
    assert describe_key(b"inv:\x00\xff\n") == "inv:\\x00\\xff\\n"
    assert describe_key(b"k" * 500).endswith("...") and len(describe_key(b"k" * 500)) == 120


def test_rdb_members_reads_hashtable_payloads_from_a_real_server(redis_server):
    import redis

    from billingops.transfer.redis.rdb import members

    r = redis.Redis(port=redis_server.port)
    r.flushall()
    r.sadd("s", *[f"m{i}" for i in range(300)], 7, -70000, 2**40)
    r.hset("h", mapping={f"f{i}": f"v{i}" * (i % 5) for i in range(600)})
    r.zadd("z", {f"z{i}": i / 7 for i in range(300)})
    r.sadd("lzf", "x" * 100 + "1", "y" * 100)  # compressed members: not read here
    assert members(r.dump("s")) == frozenset(r.smembers("s"))
    assert members(r.dump("h")) == r.hgetall("h")
    assert members(r.dump("z")) == dict(r.zrange("z", 0, -1, withscores=True))
    r.sadd("lzf", *[f"pad{i}" for i in range(200)])
    assert members(r.dump("lzf")) is None
    r.set("str", "v")
    assert members(r.dump("str")) is None
