from __future__ import annotations

import time

from billingops.clouds.health import HealthChecker, health_url
from tests.support.ports import free_port


def test_healthy_endpoint_reports_status_and_latency(app):
    result = HealthChecker("/health", deadline=2, interval=0.05).check(f"{app.url}/svc")
    assert result.ok and result.status == 200 and result.attempts == 1 and result.latency_ms >= 0
    assert result.url == f"{app.url}/svc/health" and "answered 200" in result.describe()


def test_retries_until_healthy(app):
    answers = iter([503, 503, 200])
    app.status_for = lambda path: next(answers)
    result = HealthChecker("health", deadline=5, interval=0.05).check(app.url + "/")
    assert result.ok and result.attempts == 3


def test_unhealthy_until_the_deadline(app):
    app.service_status = 500
    began = time.monotonic()
    result = HealthChecker("/health", deadline=0.5, interval=0.1).check(f"{app.url}/svc")
    assert not result.ok and result.status == 500 and result.attempts >= 2
    assert time.monotonic() - began < 2
    assert "last answer 500" in result.describe()


def test_nothing_listening_is_reported_not_raised():
    result = HealthChecker("/health", deadline=0.3, interval=0.1).check(f"http://127.0.0.1:{free_port()}")
    assert not result.ok and result.status is None and "Connection" in result.error


def test_health_url_joins_and_defaults_to_https():
    assert health_url("alb.example.com", "/health") == "https://alb.example.com/health"
    assert health_url("http://x/", "/health") == "http://x/health"
