"""A held lock, whatever backend holds it, and the durations the safety rules are written in."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Terraform's statemgr.LockInfo JSON keys, in the order `terraform force-unlock` prints them.
LOCK_INFO_KEYS = ("ID", "Operation", "Who", "Version", "Created", "Path", "Info")


# C0 and C1 control characters (ESC, BEL, CR, backspace, ...): a lock record is written by whoever took the
# lock, and what it says must not move the cursor, retitle the terminal or hide text when shown.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(value: object) -> str:
    """`value` as text with every control character removed."""
    return _CONTROL.sub("", str(value))


class MalformedLock(ValueError):
    """The lock record exists but is not terraform's lock-info JSON."""


class LockChanged(Exception):
    """The lock was released or re-taken between reading it and deleting it; nothing was deleted."""


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    version: str
    created: str
    path: str
    info: str

    @classmethod
    def from_json(cls, raw: str | bytes) -> LockInfo:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedLock(f"not JSON ({exc})") from None
        if not isinstance(data, dict) or not data.get("ID") or not isinstance(data.get("ID"), str):
            raise MalformedLock("JSON without the lock ID terraform writes")
        # Every field is shown to the operator, and the conditional delete compares the raw record (the
        # HeldLock token), not these: they are kept printable.
        return cls(
            id=printable(data["ID"]),
            operation=printable(data.get("Operation") or ""),
            who=printable(data.get("Who") or ""),
            version=printable(data.get("Version") or ""),
            created=printable(data.get("Created") or ""),
            path=printable(data.get("Path") or ""),
            info=printable(data.get("Info") or ""),
        )

    def with_id(self, lock_id: str) -> LockInfo:
        return LockInfo(lock_id, self.operation, self.who, self.version, self.created, self.path, self.info)

    def as_terraform(self) -> dict[str, str]:
        return {
            "ID": self.id,
            "Operation": self.operation,
            "Who": self.who,
            "Version": self.version,
            "Created": self.created,
            "Path": self.path,
            "Info": self.info,
        }

    @property
    def host(self) -> str:
        return self.who.rpartition("@")[2] if "@" in self.who else ""

    @property
    def created_at(self) -> datetime | None:
        return parse_created(self.created)

    def age_seconds(self, now: datetime | None = None) -> float | None:
        created = self.created_at
        if created is None:
            return None
        return ((now or datetime.now(UTC)) - created).total_seconds()


@dataclass
class HeldLock:
    """One lock record in one store. S3 with both lock mechanisms yields two records with the same id."""

    env: str
    backend: str  # s3 | gcs | local
    store: str  # dynamodb | s3-lockfile | gcs | local
    location: str  # where the record lives, e.g. dynamodb://table/LockID or s3://bucket/key.tflock
    state: str  # the state it protects, e.g. bucket/key
    workspace: str
    lock_id: str  # the id terraform and `unlock --lock-id` use (the generation on GCS)
    info: LockInfo | None
    token: str  # what the conditional delete compares: raw Info, ETag, generation, file content
    malformed: str | None = None
    liveness: Any = None  # liveness.Verdict, filled in by the finder
    extra: dict[str, Any] = field(default_factory=dict)

    def same_record(self, other: HeldLock) -> bool:
        return self.location == other.location and self.token == other.token

    def to_dict(self) -> dict[str, Any]:
        age = self.info.age_seconds() if self.info else None
        return {
            "env": self.env,
            "kind": self.extra.get("kind", "terraform"),
            "backend": self.backend,
            "store": self.store,
            "location": self.location,
            "state": self.state,
            "workspace": self.workspace,
            "lock_id": self.lock_id,
            "operation": self.info.operation if self.info else None,
            "who": self.info.who if self.info else None,
            "version": self.info.version if self.info else None,
            "created": self.info.created if self.info else None,
            "age_seconds": round(age, 1) if age is not None else None,
            "path": self.info.path if self.info else None,
            "lock_info": self.info.as_terraform() if self.info else None,
            "malformed": self.malformed,
            "liveness": self.liveness.to_dict() if self.liveness is not None else None,
            **({"heartbeat": self.extra["heartbeat"], "heartbeat_age_seconds": _heartbeat_age(self)}
               if self.extra.get("heartbeat") else {}),
        }


def _heartbeat_age(held: HeldLock) -> float | None:
    beat = parse_created(str(held.extra.get("heartbeat")))
    return None if beat is None else round((datetime.now(UTC) - beat).total_seconds(), 1)


_FRACTION = re.compile(r"\.(\d+)")


def parse_created(value: str) -> datetime | None:
    """Terraform writes RFC 3339 with nanoseconds (2026-11-25T13:00:50.629756131Z); Python takes micro."""
    if not value:
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip(), count=1)
    text = text.replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
