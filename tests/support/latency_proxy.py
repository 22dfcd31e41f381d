"""A TCP proxy on loopback that adds distance: every chunk is forwarded `one_way_ms` after it arrived, in
order, in both directions. The delay is latency, not bandwidth: reading never waits for the delayed writes
(up to `max_buffered` bytes in flight per direction), so a pipelined client keeps its throughput and only a
client that waits for each reply pays the round trip (2 x one_way_ms).

    with LatencyProxy(target_port=6379, one_way_ms=15) as proxy:     # in this process (a thread)
        redis.Redis(port=proxy.port)

    proxy = spawn(target_port=6379, one_way_ms=15)                    # in its own process: no GIL shared
    ...; proxy.stop()                                                 # with a copier measured in this one

    python -m tests.support.latency_proxy --target-port 6379 --one-way-ms 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

CHUNK = 256 * 1024
MAX_BUFFERED = 64 * 1024 * 1024


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, max_buffered: int
) -> None:
    """Forward reader -> writer, each chunk `delay` seconds after it was read."""
    queue: deque[tuple[float, bytes | None]] = deque()
    buffered = 0
    arrived = asyncio.Event()
    room = asyncio.Event()
    room.set()

    async def receive() -> None:
        nonlocal buffered
        try:
            while True:
                data = await reader.read(CHUNK)
                queue.append((time.monotonic() + delay, data or None))
                arrived.set()
                if not data:
                    return
                buffered += len(data)
                if buffered >= max_buffered:
                    room.clear()
                    await room.wait()
        except (ConnectionError, OSError):
            queue.append((time.monotonic(), None))
            arrived.set()

    async def send() -> None:
        nonlocal buffered
        while True:
            while not queue:
                arrived.clear()
                await arrived.wait()
            due, data = queue.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                if writer.can_write_eof():
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                return
            writer.write(data)
            buffered -= len(data)
            if buffered < max_buffered:
                room.set()
            await writer.drain()

    receiving = asyncio.ensure_future(receive())
    try:
        await send()
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await receiving


class LatencyProxy:
    """The proxy in a background thread of this process; `port` is where clients connect."""

    def __init__(
        self,
        target_port: int,
        one_way_ms: float,
        *,
        target_host: str = "127.0.0.1",
        listen_port: int = 0,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self.target = (target_host, target_port)
        self.delay = one_way_ms / 1000.0
        self.listen_port = listen_port
        self.max_buffered = max_buffered
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(
                _pump(client_r, server_w, self.delay, self.max_buffered),
                _pump(server_r, client_w, self.delay, self.max_buffered),
                return_exceptions=True,
            )
        finally:
            for w in (server_w, client_w):
                w.close()

    async def serve(self, ready: threading.Event | None = None) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)
        self.port = server.sockets[0].getsockname()[1]
        if ready:
            ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

    def start(self) -> LatencyProxy:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        loop = self._loop

        def run() -> None:
            try:
                loop.run_until_complete(self.serve(ready))
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="latency-proxy")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the latency proxy did not start listening")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(timeout=10)

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class SpawnedProxy:
    port: int
    proc: subprocess.Popen

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def spawn(target_port: int, one_way_ms: float, *, target_host: str = "127.0.0.1") -> SpawnedProxy:
    """The proxy in its own interpreter (a bench must not share a GIL with the copier it measures)."""
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.latency_proxy", "--target-host", target_host,
         "--target-port", str(target_port), "--one-way-ms", str(one_way_ms)],
        cwd=repo, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"the latency proxy did not start: {line!r}")
    return SpawnedProxy(int(line.split()[1]), proc)


def main() -> None:
    parser = argparse.ArgumentParser(description="TCP proxy adding a one-way delay per chunk (loopback).")
    parser.add_argument("--target-host", default="127.0.0.1")
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--one-way-ms", type=float, required=True)
    parser.add_argument("--listen-port", type=int, default=0)
    args = parser.parse_args()
    proxy = LatencyProxy(args.target_port, args.one_way_ms, target_host=args.target_host,
                         listen_port=args.listen_port)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        ready = threading.Event()
        task = asyncio.ensure_future(proxy.serve(ready))
        while not ready.is_set():
            await asyncio.sleep(0.01)
        print(f"listening {proxy.port}", flush=True)
        loop.add_signal_handler(signal.SIGTERM, proxy._stop.set)  # type: ignore[union-attr]  # set by serve()
        loop.add_signal_handler(signal.SIGINT, proxy._stop.set)  # type: ignore[union-attr]  # set by serve()
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
