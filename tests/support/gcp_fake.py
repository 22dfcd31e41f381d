"""A small fake of Google's REST wire format, for the real google-cloud-* clients (transport="rest").

No emulator exists offline for Cloud Run v2, Secret Manager v1 or Cloud SQL Admin v1beta4, so tests run
the real client libraries against this server. It fakes the wire only: the APIs' JSON resources and
long-running operations. API behaviour lives in modules that add routes:

    fake = GcpFake.start()
    fake.route("GET", r"/v1/projects/(?P<project>[^/]+)/secrets/(?P<secret>[^/:]+)", handler)

A handler gets (fake, request, **groups) and returns (status, json_body). `fake.state` is a dict the
API modules share; `fake.requests` records every call (method, path, query, body) for assertions, and
`fake.fail_next(n, status)` injects failures.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


Handler = Callable[..., tuple[int, Any]]


@dataclass(frozen=True)
class Raw:
    """A non-JSON answer (an HTML error page of a Google frontend, say)."""

    body: str
    content_type: str = "text/html; charset=UTF-8"


@dataclass
class GcpFake:
    server: ThreadingHTTPServer
    thread: threading.Thread
    routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _failures: list[int] = field(default_factory=list)

    @classmethod
    def start(cls) -> GcpFake:
        holder: dict[str, GcpFake] = {}

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return None

            def _dispatch(self) -> None:
                holder["fake"]._handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _dispatch

        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        fake = cls(server=server, thread=thread)
        holder["fake"] = fake
        thread.start()
        return fake

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + r"$"), handler))

    def fail_next(self, count: int, status: int = 500) -> None:
        with self.lock:
            self._failures.extend([status] * count)

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = Request(http.command, parts.path, parse_qs(parts.query), body, dict(http.headers))
        with self.lock:
            self.requests.append(request)
            injected = self._failures.pop(0) if self._failures else None
        if injected is not None:
            return _send(http, injected, {"error": {"code": injected, "message": "injected failure",
                                                    "status": "INTERNAL"}})
        for method, pattern, handler in self.routes:
            match = pattern.match(parts.path)
            if method == http.command and match:
                try:
                    with self.lock:
                        status, payload = handler(self, request, **match.groupdict())
                except Exception as exc:  # noqa: BLE001  # a bug in a fake must show up as a 500, not a hang
                    status, payload = 500, {"error": {"code": 500, "message": repr(exc), "status": "INTERNAL"}}
                return _send(http, status, payload)
        _send(http, 404, {"error": {"code": 404, "message": f"no fake route for {http.command} {parts.path}",
                                    "status": "NOT_FOUND"}})


def error(status: int, message: str, code: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "message": message, "status": code}}


def _send(http: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    raw = isinstance(payload, Raw)
    data = payload.body.encode() if raw else json.dumps(payload).encode()
    http.send_response(status)
    http.send_header("Content-Type", payload.content_type if raw else "application/json")
    http.send_header("Content-Length", str(len(data)))
    http.end_headers()
    http.wfile.write(data)
