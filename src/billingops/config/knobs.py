"""Every BILLINGOPS_* knob that is not a billingops.toml setting, and the one duration and number syntax.

Only the config package reads BILLINGOPS_* variables; everything else asks `tunables()`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from billingops.errors import ConfigError, UsageError

# --- Durations and numbers: the one parser of each, for flags and environment variables alike ------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_FORMS = "90s, 10m, 1h30m, 2d or a number of seconds"


def parse_duration(text: str, name: str = "--timeout") -> float:
    """'90s', '10m', '1h30m', '2d', '500ms' or a bare number of seconds -> seconds.

    A malformed value is a UsageError naming the flag (`name`), raised before anything is touched."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    if value and _DURATION_PART.sub("", value) == "":
        return sum(float(n) * _DURATION_UNIT[u] for n, u in _DURATION_PART.findall(value))
    raise UsageError(f"{name} {text!r} is not a duration.", hint=f"Use forms like {DURATION_FORMS} ({name} 10m).")


def parse_number(text: str, name: str, *, minimum: float) -> float:
    """A number of at least `minimum`; anything else is a UsageError naming the flag."""
    try:
        value = float(text.strip())
    except ValueError:
        value = minimum - 1
    if not value >= minimum:  # also refuses nan
        raise UsageError(f"{name} {text!r} is not a number of at least {minimum:g}.",
                         hint=f"Pass e.g. {name} {minimum:g}.")
    return value


# --- Tunables: every BILLINGOPS_* knob that is not a billingops.toml setting --------------------------------
# Read when used (not at import, so one malformed knob does not break unrelated commands) and only here:
# a malformed value is a ConfigError naming the variable (exit 2), never a traceback from deep inside a step.


def _env_text(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _env_seconds(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = _env_text(name)
    if raw is None:
        return default
    try:
        value = parse_duration(raw, name)
    except UsageError:
        value = minimum - 1
    if value < minimum or (minimum == 0.0 and value < 0):
        raise ConfigError(f"{name}={raw!r} is not a duration of at least {minimum:g}s ({DURATION_FORMS}).",
                          hint=f"Fix or unset {name}.")
    return value


def _env_count(name: str, default: int, *, minimum: int) -> int:
    raw = _env_text(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"{name}={raw!r} is not a whole number of at least {minimum}.", hint=f"Fix or unset {name}.")
    return int(raw)


class Tunables:
    """The knobs, each read from its BILLINGOPS_* variable when asked for."""

    @property
    def state_dir(self) -> Path:
        """Where billingops keeps its state before (or without) a billingops.toml: the crash log's folder."""
        return Path(_env_text("BILLINGOPS_STATE_DIR") or ".billingops")

    @property
    def provider_mirror(self) -> str | None:
        return _env_text("BILLINGOPS_PROVIDER_MIRROR")

    @property
    def pg_bindir(self) -> str | None:
        return _env_text("BILLINGOPS_PG_BINDIR")

    @property
    def runbooks_dir(self) -> str | None:
        return _env_text("BILLINGOPS_RUNBOOKS_DIR")

    @property
    def database_url(self) -> str | None:
        """A DATABASE_URL that bypasses the secret store (the deploy's migrate step)."""
        return _env_text("BILLINGOPS_DATABASE_URL")

    @property
    def database_via(self) -> str | None:
        """HOST:PORT of an open tunnel to the database."""
        return _env_text("BILLINGOPS_DATABASE_VIA")

    @property
    def migrate_command(self) -> str | None:
        return _env_text("BILLINGOPS_MIGRATE_COMMAND")

    @property
    def secrets_file(self) -> str | None:
        return _env_text("BILLINGOPS_SECRETS_FILE")

    @property
    def deploy_lock_heartbeat(self) -> float:
        """How often a deploy lock's holder renews its heartbeat (BILLINGOPS_DEPLOY_LOCK_HEARTBEAT_SECONDS)."""
        return _env_seconds("BILLINGOPS_DEPLOY_LOCK_HEARTBEAT_SECONDS", 30.0, minimum=0.2)

    @property
    def audit_lock_timeout(self) -> float:
        """How long an audit write waits for another writer's lock (BILLINGOPS_AUDIT_LOCK_TIMEOUT)."""
        return _env_seconds("BILLINGOPS_AUDIT_LOCK_TIMEOUT", 30.0, minimum=0.01)

    @property
    def unlock_recheck(self) -> float:
        return _env_seconds("BILLINGOPS_UNLOCK_RECHECK_SECONDS", 5.0)

    @property
    def rollout_timeout(self) -> float:
        return _env_seconds("BILLINGOPS_ROLLOUT_TIMEOUT", 900.0, minimum=0.001)

    @property
    def rollout_poll(self) -> float:
        return _env_seconds("BILLINGOPS_ROLLOUT_POLL", 5.0, minimum=0.001)

    @property
    def health_timeout(self) -> float:
        return _env_seconds("BILLINGOPS_HEALTH_TIMEOUT", 120.0, minimum=0.001)

    @property
    def copy_stall(self) -> float:
        """No byte through a COPY pipe for this long means a server stopped answering."""
        return _env_seconds("BILLINGOPS_COPY_STALL_SECONDS", 60.0, minimum=1.0)

    @property
    def pg_probe_period(self) -> float:
        return _env_seconds("BILLINGOPS_PG_PROBE_SECONDS", 5.0, minimum=0.1)

    @property
    def pg_probe_timeout(self) -> int:
        """connect_timeout of one liveness probe; libpq's floor is 2 s."""
        return _env_count("BILLINGOPS_PG_PROBE_TIMEOUT", 10, minimum=2)

    @property
    def pg_probe_failures(self) -> int:
        return _env_count("BILLINGOPS_PG_PROBE_FAILURES", 3, minimum=1)


def tunables() -> Tunables:
    return Tunables()


SECRET_ENV_PREFIX = "BILLINGOPS_SECRET_"  # noqa: S105  # nosec B105  # a variable-name prefix, not a value


def environ_secret(name: str) -> str | None:
    """A secret's value waiting in BILLINGOPS_SECRET_<NAME> (the value is never logged)."""
    return os.environ.get(SECRET_ENV_PREFIX + name) or None
