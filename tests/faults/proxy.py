"""A tiny fault-injecting HTTP proxy: forwards every request to an upstream (moto, the GCP fake) unless a rule
matches it, in which case it answers 500 or stalls past the client's read timeout, for the first N matches."""

from __future__ import annotations

import http.client as httpclient
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


@dataclass
class Rule:
    """`pattern` is searched in "METHOD PATH X-Amz-Target BODY[:300]";
    `action` is an HTTP status ("500", "503") or "stall"."""

    pattern: str
    action: str
    count: int
    stall_seconds: float = 0.0
    hits: int = 0


@dataclass
class FaultProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    _server: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, upstream: str) -> FaultProxy:
        proxy = cls(upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any  # noqa: N815  # http.server names

        proxy._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        proxy._server.daemon_threads = True
        threading.Thread(target=proxy._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return proxy

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def fail(self, pattern: str, count: int = 1_000_000) -> Rule:
        return self._add(Rule(pattern, "500", count))

    def stall(self, pattern: str, seconds: float, count: int = 1_000_000) -> Rule:
        return self._add(Rule(pattern, "stall", count, stall_seconds=seconds))

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def _match(self, summary: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.hits < rule.count and re.search(rule.pattern, summary):
                    rule.hits += 1
                    return rule
        return None

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        target = http.headers.get("X-Amz-Target", "")
        summary = f"{http.command} {http.path} {target} {body[:300].decode('utf-8', 'replace')}"
        rule = self._match(summary)
        self.log.append(f"{rule.action if rule else 'pass'} {summary[:160]}")
        if rule and rule.action == "stall":
            # hold the connection open without answering; the client's read timeout must fire
            self._stop.wait(rule.stall_seconds)
            http.close_connection = True
            return
        if rule:
            payload = (
                b'{"__type":"InternalFailure","message":"injected failure",'
                b'"error":{"code":500,"message":"injected failure","status":"INTERNAL"}}'
            )
            http.send_response(int(rule.action))
            http.send_header("Content-Type", "application/json")
            http.send_header("Content-Length", str(len(payload)))
            http.end_headers()
            http.wfile.write(payload)
            return
        self._forward(http, body)

    def _forward(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        parsed = urllib.parse.urlsplit(self.upstream)
        conn = httpclient.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        headers = {k: v for k, v in http.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            conn.request(http.command, http.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except OSError as exc:
            data = f"proxy: upstream failed: {exc}".encode()
            http.send_response(502)
            http.send_header("Content-Length", str(len(data)))
            http.end_headers()
            http.wfile.write(data)
            return
        finally:
            conn.close()
        http.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_HEADERS and key.lower() != "content-length":
                http.send_header(key, value)
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        if http.command != "HEAD":
            http.wfile.write(data)


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
