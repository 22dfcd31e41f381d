"""The health gate: GET the service's health endpoint until it answers 2xx or a deadline passes.

Every request has its own timeout, so one hung connection cannot eat the whole deadline; the result keeps the
last status code and latency so the engineer sees *how* it failed (503 from the load balancer vs a timeout).
"""

from __future__ import annotations

import logging
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_DEADLINE = 120.0
DEFAULT_INTERVAL = 3.0
DEFAULT_REQUEST_TIMEOUT = 5.0


@dataclass(frozen=True)
class HealthResult:
    url: str
    ok: bool
    status: int | None
    latency_ms: float | None
    attempts: int
    error: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"{self.url} answered {self.status} in {self.latency_ms:.0f} ms (attempt {self.attempts})"
        last = f"last answer {self.status}" if self.status is not None else f"last error: {self.error}"
        return f"{self.url} was not healthy after {self.attempts} attempt(s) ({last})"


def health_url(base_url: str, path: str) -> str:
    if not base_url.startswith(("http://", "https://")):
        base_url = "https://" + base_url
    return base_url.rstrip("/") + "/" + path.lstrip("/")


@dataclass
class HealthChecker:
    """GET `path` on a base URL with retries until `deadline` seconds have passed."""

    path: str = "/health"
    deadline: float = DEFAULT_DEADLINE
    interval: float = DEFAULT_INTERVAL
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    sleep: Callable[[float], None] = time.sleep

    def check(
        self, base_url: str, *, on_attempt: Callable[[HealthResult], None] | None = None
    ) -> HealthResult:
        url = health_url(base_url, self.path)
        ends = time.monotonic() + self.deadline
        attempts = 0
        while True:
            attempts += 1
            status, latency, error = _get(url, min(self.request_timeout, max(ends - time.monotonic(), 0.5)))
            ok = status is not None and 200 <= status < 300
            result = HealthResult(url, ok, status, latency, attempts, error)
            log.debug("health %s -> %s %s", url, status, error)
            if on_attempt is not None:
                on_attempt(result)
            if ok or time.monotonic() + self.interval > ends:
                return result
            self.sleep(self.interval)


def _get(url: str, timeout: float) -> tuple[int | None, float | None, str]:
    headers = {"User-Agent": "billingops-health-check"}
    request = urllib.request.Request(url, method="GET", headers=headers)  # noqa: S310  # http(s): see health_url
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310  # health_url: http(s) only
            response.read(65536)
            return response.status, _ms(began), ""
    except urllib.error.HTTPError as exc:
        return exc.code, _ms(began), f"HTTP {exc.code}"
    except (TimeoutError, urllib.error.URLError, ConnectionError, ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, None, f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__


def _ms(began: float) -> float:
    return round((time.monotonic() - began) * 1000, 1)
