"""The managed database as on-call sees it: state, backups, the PITR window, restore into a new instance.

Both adapters (clouds/aws/database.py for RDS, clouds/gcp/database.py for Cloud SQL) return these plain
dataclasses, so `status`, `db backups`, `db restore` and `dr drill` do not care which cloud they talk to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from billingops.errors import Refused, UsageError

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ServerCa:
    """A managed instance's server CA, as its cloud's API gives it (Cloud SQL: instances.get serverCaCert)."""

    instance: str  # project:region:instance
    pem: str
    ca_mode: str  # serverCaMode
    names_host: bool  # the server certificate names the host connected to: verify-full, else verify-ca


@dataclass
class DatabaseInfo:
    name: str
    status: str
    available: bool
    engine_version: str
    high_availability: bool
    endpoint: str | None = None
    port: int | None = None
    allocated_gb: float | None = None
    used_gb: float | None = None
    latest_restorable_time: str | None = None
    backup_retention_days: int | None = None
    deletion_protection: bool | None = None

    @property
    def used_percent(self) -> float | None:
        if self.used_gb is None or not self.allocated_gb:
            return None
        return round(100.0 * self.used_gb / self.allocated_gb, 1)


@dataclass
class Backup:
    id: str
    kind: str  # automated | manual | on-demand
    status: str
    created: str | None
    size_gb: float | None = None


@dataclass
class BackupsView:
    instance: str
    cloud: str
    pitr_enabled: bool
    earliest_restorable_time: str | None
    latest_restorable_time: str | None
    retention_days: int | None
    backups: list[Backup] = field(default_factory=list)


@dataclass
class RestoreResult:
    source: str
    target: str
    restore_time: str  # the requested time, or "latest"
    status: str
    endpoint: str | None
    port: int | None
    seconds: float


class DatabaseAdapter(Protocol):
    cloud: str

    def describe(self, instance: str) -> DatabaseInfo: ...
    def exists(self, instance: str) -> bool: ...
    def backups(self, instance: str) -> BackupsView: ...
    def restore(
        self,
        source: str,
        target: str,
        to: datetime | None,
        *,
        progress: Progress | None = None,
        timeout: float = 3600.0,
        poll: float = 15.0,
    ) -> RestoreResult: ...
    def delete(self, instance: str) -> None: ...


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (`2026-11-25T09:55:00Z`, offsets allowed; naive means UTC) → aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--to {text!r} is not a time billingops understands.",
            hint="Use ISO 8601 in UTC, e.g. --to 2026-11-25T09:55:00Z, or --to latest.",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(value: Any) -> str | None:
    """datetime / protobuf timestamp / string → `YYYY-MM-DDTHH:MM:SSZ` (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value
        try:
            value = parse_time(text)
        except UsageError:
            return text
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def check_restore_request(
    view: BackupsView, live: str, target: str, to: datetime | None, target_exists: bool
) -> None:
    """Refuse a restore over the live instance, onto an existing name, or outside the PITR window."""
    if target.strip().lower() == live.strip().lower():
        raise Refused(
            f"--as {target} is the live database instance: a restore never writes over the live instance.",
            hint="Pick a new name, e.g. --as " + f"{live}-restore-{datetime.now(UTC):%m%d%H%M}.",
        )
    if target_exists:
        raise Refused(
            f"An instance named {target} already exists; billingops will not restore over it.",
            hint="Pick another --as name, or delete that instance first if it is a previous scratch copy.",
        )
    if to is None:
        return
    if not view.pitr_enabled:
        raise UsageError(
            f"Point-in-time recovery is not enabled on {live}, so it cannot be restored to {iso(to)}.",
            hint="Use --to latest, or restore a snapshot listed by `billingops db backups`.",
        )
    earliest = parse_time(view.earliest_restorable_time) if view.earliest_restorable_time else None
    latest = parse_time(view.latest_restorable_time) if view.latest_restorable_time else None
    if (earliest and to < earliest) or (latest and to > latest):
        raise UsageError(
            f"--to {iso(to)} is outside the restore window of {live} "
            f"({view.earliest_restorable_time or '?'} to {view.latest_restorable_time or '?'}).",
            hint="Pick a time inside the window shown by `billingops db backups`, or --to latest.",
        )
