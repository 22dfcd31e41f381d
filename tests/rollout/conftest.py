"""Fixtures for rollout tests: a tiny app whose health the test controls, and the Cloud Run fake."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support import gcp_fake_run
from tests.support.gcp_fake import GcpFake

PROJECT, REGION, SERVICE = "billing-proj", "us-central1", "billing-dev"
SERVICE_NAME = f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"


class App:
    """GET /rev/<revision>/health answers health[revision]; GET /svc/health answers for the revision that serves
    the most traffic in the Cloud Run fake (or `service_status` when set). Records every path it was asked."""

    def __init__(self) -> None:
        self.health: dict[str, int] = {}
        self.default = 200
        self.service_status: int | None = None
        self.serving: Callable[[], dict[str, int]] = dict
        self.paths: list[str] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802  # http.server's naming
                app.paths.append(self.path)
                status = app.status_for(self.path)
                body = b'{"status":"ok"}' if status < 300 else b'{"status":"bad"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def status_for(self, path: str) -> int:
        parts = path.strip("/").split("/")
        if parts[0] == "rev" and len(parts) > 1:
            return self.health.get(parts[1], self.default)
        if parts[0] == "svc":
            if self.service_status is not None:
                return self.service_status
            serving = self.serving()
            if serving:
                return self.health.get(max(serving, key=serving.__getitem__), self.default)
            return self.default
        return 404

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app() -> Iterator[App]:
    server = App()
    yield server
    server.stop()


@pytest.fixture
def run_fake(app: App) -> Iterator[GcpFake]:
    fake = GcpFake.start()

    def url_for(service: str, tag: str | None, revision: str | None) -> str:
        return f"{app.url}/rev/{revision}" if tag else f"{app.url}/svc"

    gcp_fake_run.install(fake, url_for=url_for)
    app.serving = lambda: gcp_fake_run.serving(fake, SERVICE_NAME)
    yield fake
    fake.stop()
