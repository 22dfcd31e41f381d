"""The bench's latency proxy adds round-trip time, keeps bytes in order, and does not limit throughput."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import time

import pytest
from tests.support.latency_proxy import LatencyProxy, spawn


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1 << 16):
            self.request.sendall(data)


@pytest.fixture
def echo_port():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _round_trip(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        began = time.perf_counter()
        sock.sendall(b"ping")
        assert sock.recv(16) == b"ping"
        return time.perf_counter() - began


def _echo_through(port: int, payload: bytes) -> bytes:
    """Send everything at once (a pipelining client) while reading the echo back."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        got = bytearray()
        while len(got) < len(payload):
            chunk = sock.recv(1 << 20)
            assert chunk, "connection closed early"
            got += chunk
        sender.join()
        return bytes(got)


def test_each_round_trip_pays_twice_the_one_way_delay(echo_port):
    assert _round_trip(echo_port) < 0.05
    with LatencyProxy(echo_port, one_way_ms=50) as proxy:
        rtts = [_round_trip(proxy.port) for _ in range(3)]
    assert all(0.1 <= rtt < 0.4 for rtt in rtts), rtts


def test_pipelined_bytes_keep_their_order_and_their_throughput(echo_port):
    payload = os.urandom(16 * 1024 * 1024)
    with LatencyProxy(echo_port, one_way_ms=100) as proxy:
        began = time.perf_counter()
        echoed = _echo_through(proxy.port, payload)
        seconds = time.perf_counter() - began
    assert echoed == payload
    # 16 MB is 64+ chunks each way: a proxy that delayed chunk after chunk (bandwidth, not latency) would need
    # over 6 s each way; one that only adds latency needs the round trip plus the copying.
    assert seconds < 2.5, seconds


def test_spawned_proxy_runs_in_its_own_process(echo_port):
    proxy = spawn(echo_port, one_way_ms=30)
    try:
        assert proxy.proc.pid != os.getpid()
        assert 0.06 <= _round_trip(proxy.port) < 0.3
    finally:
        proxy.stop()
    assert proxy.proc.returncode is not None
