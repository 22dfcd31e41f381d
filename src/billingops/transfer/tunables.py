"""Timing knobs of migrate-cloud (config.tunables reads them; tests shorten them, operators rarely touch them).

Read when used, not at import, and checked up front by `check()`: a malformed value is a ConfigError naming the
variable (exit 2), never a traceback from deep inside a copy.
"""

from __future__ import annotations

from billingops.config import tunables


def copy_stall_seconds() -> float:
    """No byte through a COPY pipe for this long means a server stopped answering."""
    return tunables().copy_stall


def check() -> None:
    """Validate every knob before anything is touched."""
    from billingops.transfer.postgres.watchdog import Settings

    copy_stall_seconds()
    Settings.from_env()
