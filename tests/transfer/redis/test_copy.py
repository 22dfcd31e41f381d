"""Redis copy against real redis-servers (AUTH, TLS): every type, expiry, dbs, BUSYKEY, big keys, errors."""

from __future__ import annotations

import time

import pytest
import redis

from billingops.errors import EXIT_EXTERNAL, EXIT_REFUSED, Refused
from billingops.transfer.redis import copy as redis_copy
from billingops.transfer.redis import verify as redis_verify
from billingops.transfer.redis import worker as redis_worker
from billingops.transfer.redis.copy import RedisEndpoint
from billingops.transfer.redis.resp import RedisUnavailable
from tests.support import servers
from tests.support.ports import free_port
from tests.support.transfer_servers import REDIS_PASSWORD

BINARY_KEY = b"bin:\x00\xff\r\n\x80key"
BINARY_VALUE = bytes(range(256)) * 4


def _client(url: str, **kw) -> redis.Redis:
    return redis.Redis.from_url(url, **kw)


def _endpoints(source, target, db: int = 0) -> tuple[RedisEndpoint, RedisEndpoint]:
    return RedisEndpoint(source.url(db)), RedisEndpoint(target.url(db))


def _copy(src: RedisEndpoint, dst: RedisEndpoint, dbs=(0,), **kw):
    events: list[dict] = []
    kw.setdefault("jobs", 1)
    kw.setdefault("replace", False)
    results = redis_copy.copy(
        src, dst, dbs=list(dbs), on_progress=events.append, journal_done=kw.pop("done", set()), **kw
    )
    return results, events


def _full(src, dst, dbs=(0,)):
    now = int(time.time() * 1000)
    return redis_verify.verify(src, dst, dbs=list(dbs), mode="full", copy_started_ms=now - 5000, copy_finished_ms=now)


def _load_every_type(r: redis.Redis) -> None:
    r.set("str:plain", "hello")
    r.set("str:int", 12345)
    r.set(BINARY_KEY, BINARY_VALUE)
    r.set("str:ttl", "expires", px=3_600_000)
    r.hset("hash:small", mapping={"a": "1", "b": b"\x00\x01"})
    r.hset("hash:large", mapping={f"f{i}": "x" * (i % 70) for i in range(600)})  # hashtable encoding
    r.rpush("list", *[f"item{i}" for i in range(300)])
    r.sadd("set:int", *range(50))
    r.sadd("set:str", *[f"m{i}" for i in range(300)])
    r.zadd("zset", {f"z{i}": i / 3 for i in range(300)})
    r.zadd("zset:small", {"a": 1.5, "b": -2})
    for i in range(20):
        r.xadd("stream", {"n": str(i), "payload": b"\xff\x00"})
    r.xgroup_create("stream", "billing-workers", id="0")
    r.xreadgroup("billing-workers", "c1", {"stream": ">"}, count=5)
    r.pexpire("hash:large", 7_200_000)


def test_every_type_round_trips_with_absolute_expiry(source_redis, target_redis):
    src_r = _client(source_redis.url())
    _load_every_type(src_r)
    src, dst = _endpoints(source_redis, target_redis)

    results, events = _copy(src, dst)

    assert [r.to_dict()["keys_copied"] for r in results] == [src_r.dbsize()]
    dst_r = _client(target_redis.url())
    assert dst_r.get(BINARY_KEY) == BINARY_VALUE
    assert dst_r.hgetall("hash:small") == {b"a": b"1", b"b": b"\x00\x01"}
    assert dst_r.lrange("list", 0, -1) == src_r.lrange("list", 0, -1)
    assert dst_r.zrange("zset", 0, -1, withscores=True) == src_r.zrange("zset", 0, -1, withscores=True)
    assert dst_r.smembers("set:int") == src_r.smembers("set:int")
    assert dst_r.xrange("stream") == src_r.xrange("stream")
    group = dst_r.xinfo_groups("stream")[0]
    assert group["name"] == b"billing-workers" and group["pending"] == 5  # RESTORE keeps groups and their PEL
    for key in ("str:ttl", "hash:large"):
        assert dst_r.pexpiretime(key) == src_r.pexpiretime(key) > 0  # absolute: identical to the millisecond
    assert dst_r.pexpiretime("str:plain") == -1
    assert events and events[-1]["db"] == 0 and events[-1]["keys"] == src_r.dbsize()
    assert all(r.ok for r in _full(src, dst))


def test_copies_every_logical_database_and_skips_journal_done(source_redis, target_redis):
    for db in (0, 3, 15):
        _client(source_redis.url(db)).mset({f"db{db}:k{i}": i for i in range(10 + db)})
    src, dst = _endpoints(source_redis, target_redis)
    assert redis_copy.inspect(src).dbs == {0: 10, 3: 13, 15: 25}

    results, _ = _copy(src, dst, dbs=(0, 3, 15), done={3})

    assert [(r.db, r.keys_copied) for r in results] == [(0, 10), (15, 25)]
    assert _client(target_redis.url(3)).dbsize() == 0  # done in an earlier run: not touched
    assert _client(target_redis.url(15)).get("db15:k24") == b"24"


def test_without_replace_existing_keys_are_counted_and_kept(source_redis, target_redis):
    _client(source_redis.url()).mset({f"k{i}": "new" for i in range(100)})
    dst_r = _client(target_redis.url())
    dst_r.mset({"k1": "old", "k2": "old"})
    src, dst = _endpoints(source_redis, target_redis)

    (result,), _ = _copy(src, dst, replace=False)
    assert (result.keys_copied, result.keys_skipped) == (98, 2)
    assert sorted(result.skipped_examples) == ["k1", "k2"]
    assert dst_r.get("k1") == b"old"

    (result,), _ = _copy(src, dst, replace=True)
    assert (result.keys_copied, result.keys_skipped) == (100, 0)
    assert dst_r.get("k1") == b"new"


def test_keys_expiring_or_vanishing_during_the_copy_are_counted(source_redis, target_redis, monkeypatch):
    src_r = _client(source_redis.url())
    src_r.mset({f"keep{i}": i for i in range(50)})
    for i in range(30):
        src_r.set(f"short{i}", i, px=400)
    src_r.mset({f"gone{i}": i for i in range(20)})
    real_dump, real_write = redis_worker.dump_commands, redis_worker._Writer._write

    def dump_after_delete(keys, abs_expiry):
        src_r.delete(*[k for k in keys if k.startswith(b"gone")] or ["-"])  # vanish between SCAN and DUMP
        return real_dump(keys, abs_expiry)

    def slow_write(self, keys, payloads, ttls):
        time.sleep(0.6)  # the short keys' absolute expiry passes before RESTORE
        return real_write(self, keys, payloads, ttls)

    monkeypatch.setattr(redis_worker, "dump_commands", dump_after_delete)
    monkeypatch.setattr(redis_worker._Writer, "_write", slow_write)
    src, dst = _endpoints(source_redis, target_redis)

    (result,), _ = _copy(src, dst)

    assert (result.keys_copied, result.keys_expired, result.keys_skipped) == (50, 50, 0)
    assert _client(target_redis.url()).dbsize() == 50


def test_tls_target_with_ca_file(source_redis, tls_redis):
    _load_every_type(_client(source_redis.url()))
    src = RedisEndpoint(source_redis.url())
    dst = RedisEndpoint(tls_redis.tls_url(), ca_file=str(tls_redis.ca_file))

    (result,), _ = _copy(src, dst)

    assert result.keys_copied == _client(source_redis.url()).dbsize()
    assert all(r.ok for r in _full(src, dst))
    with pytest.raises(RedisUnavailable, match="TLS handshake") as err:
        redis_copy.inspect(RedisEndpoint(tls_redis.tls_url()))  # no CA file: the self-signed chain is unknown
    assert "CA" in err.value.hint


def test_parallel_processes_split_one_database(source_redis, target_redis):
    src_r = _client(source_redis.url())
    src_r.mset({f"p{i}".encode(): b"v%d" % i for i in range(5000)})
    src_r.set(BINARY_KEY, BINARY_VALUE)
    src, dst = _endpoints(source_redis, target_redis)

    (result,), events = _copy(src, dst, jobs=2, parallel_min_keys=1000)

    assert result.keys_copied == 5001 and result.workers == 2
    assert events[-1]["keys"] == 5001 and events[-1]["total"] == 5001
    results = redis_verify.verify(
        src, dst, dbs=[0], mode="full", copy_started_ms=0, copy_finished_ms=0, jobs=2, parallel_min_keys=1000
    )
    assert results[0].ok and results[0].source_keys == results[0].target_keys == 5001


@pytest.mark.slow
@pytest.mark.parametrize("bound", [redis_worker.DEFAULT_BIG_KEY_BYTES, 512 * 1024], ids=["dump", "chunked"])
def test_big_keys_of_every_type(source_redis, target_redis, bound):
    from billingops.transfer.redis.resp import RespConnection, encode

    src_r = _client(source_redis.url())
    n = 200_000
    with RespConnection(source_redis.url()) as conn:  # raw pipelines: redis-py takes ~10 s for this
        for start in range(0, n, 10_000):
            chunk = range(start, start + 10_000)
            commands = [
                encode(b"HSET", b"big:hash", *[x for i in chunk for x in (b"f%d" % i, b"%d" % i)]),
                encode(b"SADD", b"big:set", *[b"m%d" % i for i in chunk]),
                encode(b"ZADD", b"big:zset", *[x for i in chunk for x in (repr(i * 0.5).encode(), b"m%d" % i)]),
                encode(b"RPUSH", b"big:list", *[b"%d" % i for i in chunk]),
                *[encode(b"XADD", b"big:stream", b"%d-0" % (i + 1), b"i", b"%d" % i) for i in chunk],
            ]
            conn.send(b"".join(commands))
            assert not any(isinstance(r, Exception) for r in conn.read(len(commands)))
    src_r.xgroup_create("big:stream", "g", id="1000-0")
    src_r.pexpire("big:hash", 3_600_000)
    src, dst = _endpoints(source_redis, target_redis)

    (result,), events = _copy(src, dst, big_key_bytes=bound)

    assert result.keys_copied == 5
    assert result.big_keys == (5 if bound < redis_worker.DEFAULT_BIG_KEY_BYTES else 0)
    dst_r = _client(target_redis.url())
    assert (
        dst_r.hlen("big:hash"),
        dst_r.scard("big:set"),
        dst_r.zcard("big:zset"),
        dst_r.llen("big:list"),
        dst_r.xlen("big:stream"),
    ) == (n, n, n, n, n)
    assert dst_r.pexpiretime("big:hash") == src_r.pexpiretime("big:hash")
    assert dst_r.xinfo_groups("big:stream")[0]["last-delivered-id"] == b"1000-0"
    assert dst_r.keys("billingops:*") == []  # no temporary key left behind
    (check,) = _full(src, dst)
    assert check.ok, check.details


def test_wrong_password_is_a_clear_exit_3_error_without_the_password(source_redis):
    url = source_redis.url().replace(REDIS_PASSWORD, "not-the-password")
    with pytest.raises(RedisUnavailable) as err:
        redis_copy.inspect(RedisEndpoint(url))
    assert err.value.exit_code == EXIT_EXTERNAL
    assert "rejected the credentials" in err.value.message and "not-the-password" not in err.value.paragraph()
    with pytest.raises(RedisUnavailable, match="requires a password"):
        redis_copy.inspect(RedisEndpoint(f"redis://127.0.0.1:{source_redis.port}/0"))


def test_unreachable_host_is_a_clear_exit_3_error():
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(RedisUnavailable) as err:
        redis_copy.inspect(RedisEndpoint(url))
    assert err.value.exit_code == EXIT_EXTERNAL
    assert "cannot connect" in err.value.message and "hunter2-secret" not in err.value.paragraph()


def test_cluster_mode_source_is_refused(tmp_path, target_redis):
    import subprocess

    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(tmp_path / "nodes.conf"),
            # The bus port defaults to port + 10000, past 65535 for a high free port: redis-server then exits.
            "--cluster-port",
            str(free_port()),
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        servers.wait_for_port(port, timeout=20, proc=proc)
        cluster = RedisEndpoint(f"redis://127.0.0.1:{port}/0")
        assert redis_copy.inspect(cluster).cluster_mode
        with pytest.raises(Refused, match="cluster mode") as err:
            redis_copy.preflight(cluster, RedisEndpoint(target_redis.url()))
        assert err.value.exit_code == EXIT_REFUSED
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_preflight_names_a_target_that_cannot_restore(source_redis, target_redis):
    _client(source_redis.url()).set("k", "v")
    _client(target_redis.url()).acl_setuser(
        "norestore", enabled=True, passwords=["+pw-norestore"], keys="*", commands=["+@all", "-restore"]
    )
    try:
        with pytest.raises(RedisUnavailable, match="RESTORE is not usable"):
            redis_copy.preflight(
                RedisEndpoint(source_redis.url()),
                RedisEndpoint(f"redis://norestore:pw-norestore@127.0.0.1:{target_redis.port}/0"),
            )
    finally:
        _client(target_redis.url()).acl_deluser("norestore")


def test_target_newer_dump_format_is_refused_at_preflight(source_redis, target_redis, monkeypatch):
    from billingops.transfer.redis.resp import RespConnection

    _client(source_redis.url()).set("k", "v")
    real_check = RespConnection.check

    def newer_format(self, *args):
        reply = real_check(self, *args)
        if args[0] == b"DUMP" and reply:  # what a newer Redis writes: an RDB version this target does not know
            reply = reply[:-10] + bytes([99, 0]) + reply[-8:]
        return reply

    monkeypatch.setattr(RespConnection, "check", newer_format)
    with pytest.raises(RedisUnavailable, match="cannot load DUMP payloads from the source") as err:
        redis_copy.preflight(RedisEndpoint(source_redis.url()), RedisEndpoint(target_redis.url()))
    assert "same or a newer Redis version" in err.value.hint


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_target_stops_the_copy_with_the_key_named(source_redis, target_redis, jobs):
    _client(source_redis.url()).mset({f"k{i}": "x" * 500 for i in range(20_000)})
    dst_r = _client(target_redis.url())
    dst_r.config_set("maxmemory", "3mb")  # noeviction (the default): RESTORE gets OOM once the target is full
    try:
        src, dst = _endpoints(source_redis, target_redis)
        with pytest.raises(RedisUnavailable, match="RESTORE of key 'k.*' .*OOM") as err:
            _copy(src, dst, jobs=jobs, parallel_min_keys=1000)
        assert err.value.exit_code == EXIT_EXTERNAL and "maxmemory" in err.value.hint
    finally:
        dst_r.config_set("maxmemory", "0")


def test_estimate_samples_the_source_read_only(source_redis):
    from billingops.transfer.redis import estimate as redis_estimate
    src_r = _client(source_redis.url())
    src_r.mset({f"k{i}": i for i in range(3000)})
    changes = src_r.info("persistence")["rdb_changes_since_last_save"]
    src = RedisEndpoint(source_redis.url())

    result = redis_estimate.estimate(src, redis_copy.inspect(src), sample_seconds=0.2)

    assert result["keys"] == 3000 and 0 < result["sampled_keys"] <= 3000
    assert result["read_keys_per_s"] > 0 and result["seconds"] >= result["copy_seconds"] > 0
    assert src_r.info("persistence")["rdb_changes_since_last_save"] == changes  # nothing written


def test_large_values_are_cut_into_bounded_batches(source_redis, target_redis, monkeypatch):
    from billingops.transfer.redis import scan as redis_scan
    monkeypatch.setattr(redis_scan, "BATCH_BYTES", 1024 * 1024)
    sent: list[int] = []
    real = redis_worker.dump_commands
    monkeypatch.setattr(redis_worker, "dump_commands", lambda ks, a: sent.append(len(ks)) or real(ks, a))
    src_r = _client(source_redis.url())
    src_r.mset({f"blob{i}": bytes([i]) * 200_000 for i in range(40)})
    src, dst = _endpoints(source_redis, target_redis)

    (result,), _ = _copy(src, dst, big_key_bytes=300_000)

    assert result.keys_copied == 40 and result.big_keys == 0
    assert len(sent) >= 8 and max(sent) <= 5  # ~200 KB each: at most five per 1 MB batch
    assert _client(target_redis.url()).get("blob39") == bytes([39]) * 200_000



def test_many_pages_with_sizes_pipelined_and_a_window_of_restores(source_redis, target_redis, monkeypatch):
    """Each page's MEMORY USAGE rides with the next SCAN, and more batches than the RESTORE window: every key
    arrives once, big keys found on any page (the last included) are rebuilt, BUSYKEY replies still count."""
    from billingops.transfer.redis import scan as redis_scan
    monkeypatch.setattr(redis_scan, "SCAN_COUNT", 7)
    monkeypatch.setattr(redis_scan, "BATCH_BYTES", 150_000)  # a page holding a big key is over it
    monkeypatch.setattr(redis_worker, "_WINDOW", 2)
    src_r, tgt_r = _client(source_redis.url()), _client(target_redis.url())
    src_r.mset({f"k{i}": f"v{i}" for i in range(500)})
    for i in range(3):
        src_r.rpush(f"big{i}", *[b"x" * 100 for _ in range(2000)])
    tgt_r.set("k7", "already there")
    src, dst = _endpoints(source_redis, target_redis)

    (result,), _ = _copy(src, dst, big_key_bytes=100_000)

    assert (result.keys_copied, result.keys_skipped, result.big_keys) == (502, 1, 3)
    assert tgt_r.dbsize() == 503 and tgt_r.get("k7") == b"already there" and tgt_r.get("k499") == b"v499"
    assert tgt_r.llen("big2") == 2000


_INTERRUPTIBLE = """
import sys
from billingops.errors import BillingOpsError
from billingops.transfer.redis import copy as redis_copy
def progress(event):
    print("progress", flush=True)

try:
    redis_copy.copy(redis_copy.RedisEndpoint(sys.argv[1]), redis_copy.RedisEndpoint(sys.argv[2]), dbs=[0],
                    jobs=int(sys.argv[3]), replace=False, on_progress=progress, journal_done=set(),
                    parallel_min_keys=1000)
    print("finished", flush=True)
except BillingOpsError as exc:
    print(type(exc).__name__, exc.paragraph(), flush=True)
    sys.exit(exc.exit_code)
"""


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_stops_the_copy_and_its_workers(source_redis, target_redis, jobs):
    import os
    import signal
    import subprocess
    import sys

    from billingops.transfer.redis.resp import RespConnection, encode

    with RespConnection(source_redis.url()) as conn:  # 300k keys in a few pipelines, fast
        for start in range(0, 300_000, 20_000):
            conn.send(b"".join(encode(b"SET", b"k%d" % i, b"v" * 50) for i in range(start, start + 20_000)))
            conn.read(20_000)
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTIBLE, source_redis.url(), target_redis.url(), str(jobs)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout.readline().strip() == "progress"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group
    out, _ = proc.communicate(timeout=60)

    assert proc.returncode == 130, out
    assert "Interrupted" in out and "--resume" in out
    workers = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert workers == []
    assert _client(target_redis.url()).dbsize() < 300_000


def test_a_read_only_acl_user_is_enough_on_the_source(source_redis, target_redis):
    src_r = _client(source_redis.url())
    _load_every_type(src_r)
    src_r.acl_setuser(
        "reader",
        enabled=True,
        passwords=["+reader-pw"],
        keys="*",
        commands=["-@all", "+@read", "+@connection", "+info"],
    )
    try:
        src = RedisEndpoint(f"redis://reader:reader-pw@127.0.0.1:{source_redis.port}/0")
        dst = RedisEndpoint(target_redis.url())

        (result,), _ = _copy(src, dst)

        assert result.keys_copied == src_r.dbsize() and all(r.ok for r in _full(src, dst))
    finally:
        src_r.acl_deluser("reader")


def test_tls_without_certificate_verification_when_asked(source_redis, tls_redis):
    url = tls_redis.tls_url() + "?ssl_cert_reqs=none"
    assert redis_copy.inspect(RedisEndpoint(url)).version.startswith("7.")
