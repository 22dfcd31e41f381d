"""Timing knobs of migrate-cloud read from the environment (tests shorten them; operators rarely touch them).

Read when used, not at import, and checked up front by `check()`: a malformed value is a ConfigError naming the
variable (exit 2), never a traceback from deep inside a copy.
"""

from __future__ import annotations

import os

from billingops.errors import ConfigError

COPY_STALL = "BILLINGOPS_COPY_STALL_SECONDS"


def env_number(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(
            f"{name}={raw!r} is not a number of at least {minimum:g}.", hint=f"Unset {name} or give a valid value."
        )
    return value


def copy_stall_seconds() -> float:
    """No byte through a COPY pipe for this long means a server stopped answering."""
    return env_number(COPY_STALL, 60.0, minimum=1.0)


def check() -> None:
    """Validate every knob before anything is touched."""
    from billingops.transfer.postgres.watchdog import Settings

    copy_stall_seconds()
    Settings.from_env()
