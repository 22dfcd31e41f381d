"""URL parsing and the RESP encoder of the Redis copy's hot path (no server needed)."""

from __future__ import annotations

import pytest

from billingops.errors import EXIT_USAGE, ConfigError
from billingops.transfer.redis_resp import describe_key, encode, parse_url


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
