"""Ctrl-C tests need children that die on SIGINT: a suite started from `nohup`, `cmd &` in a script or a CI
runner inherits SIGINT ignored, exec keeps an ignored signal ignored, and then `status --watch` or the Redis
copy never see the SIGINT a test sends them (the test hangs until its timeout)."""

from __future__ import annotations

import signal

import pytest


def restore_default_sigint() -> None:
    """Give this process Python's own SIGINT handler when it inherited SIGINT ignored; children then start with
    SIGINT at its default (exec resets caught signals to default, but leaves ignored ones ignored)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_configure(config: pytest.Config) -> None:  # in the controller and in every xdist worker
    restore_default_sigint()
