"""Drift: what changed outside terraform, read from a refresh-only plan's `resource_drift`.

Values terraform marks sensitive (`before_sensitive` / `after_sensitive`) are masked, and everything else
still goes through redaction, so a secret never reaches the screen or the JSON report.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from billingops import redact
from billingops.config import Settings

log = logging.getLogger(__name__)

MASK = "(sensitive)"
_MISSING = object()


@dataclass
class AttributeChange:
    attribute: str
    expected: Any  # what terraform's state says
    actual: Any  # what the cloud says now


@dataclass
class ResourceDrift:
    address: str
    type: str
    action: str  # update | delete (gone outside terraform) | create
    changes: list[AttributeChange] = field(default_factory=list)


@dataclass
class DriftReport:
    env: str
    cloud: str
    checked_at: str
    drifted: list[ResourceDrift] = field(default_factory=list)

    @property
    def has_drift(self) -> bool:
        return bool(self.drifted)


def parse_plan(plan_json: dict[str, Any], env: str, cloud: str) -> DriftReport:
    report = DriftReport(env=env, cloud=cloud, checked_at=_now())
    for item in plan_json.get("resource_drift") or []:
        change = item.get("change") or {}
        actions = [a for a in change.get("actions", []) if a != "no-op"]
        if not actions:
            continue
        before, after = change.get("before"), change.get("after")
        sensitive = _merge(change.get("before_sensitive"), change.get("after_sensitive"))
        diffs: list[Any]
        if after is None:
            action, diffs = "delete", []
        elif before is None:
            action, diffs = "create", []
        else:
            action = "update"
            diffs = [
                AttributeChange(path, _show(exp, path, sensitive), _show(act, path, sensitive))
                for path, exp, act in _diff(before, after)
            ]
            if not diffs:
                continue
        report.drifted.append(
            ResourceDrift(
                address=item.get("address", "?"), type=item.get("type", "?"), action=action, changes=diffs
            )
        )
    return report


def _diff(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(before) | set(after)):
            out += _diff(
                before.get(key, _MISSING), after.get(key, _MISSING), f"{path}.{key}" if path else key
            )
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            out += _diff(b, a, f"{path}[{index}]")
        return out
    if before == after or (_empty(before) and _empty(after)):
        return []
    return [(path, None if before is _MISSING else before, None if after is _MISSING else after)]


def _empty(value: Any) -> bool:
    return value is _MISSING or value is None or value == {} or value == []


def _merge(a: Any, b: Any) -> Any:
    """Union of two sensitivity structures (true wins)."""
    if a is True or b is True:
        return True
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {}
        return {k: _merge(a.get(k), b.get(k)) for k in set(a) | set(b)}
    if isinstance(a, list) or isinstance(b, list):
        a, b = a if isinstance(a, list) else [], b if isinstance(b, list) else []
        return [
            _merge(a[i] if i < len(a) else None, b[i] if i < len(b) else None)
            for i in range(max(len(a), len(b)))
        ]
    return False


def _is_sensitive(path: str, sensitive: Any) -> bool:
    node = sensitive
    for part in _split(path):
        if node is True:
            return True
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return node is True or (node not in (None, False, {}, []) and _any_true(node))


def _any_true(node: Any) -> bool:
    if node is True:
        return True
    if isinstance(node, dict):
        return any(_any_true(v) for v in node.values())
    if isinstance(node, list):
        return any(_any_true(v) for v in node)
    return False


def _split(path: str) -> list[Any]:
    parts: list[Any] = []
    for chunk in path.split("."):
        name, _, rest = chunk.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.lstrip("[")
    return parts


def _show(value: Any, path: str, sensitive: Any) -> Any:
    if value is not None and _is_sensitive(path, sensitive):
        return MASK
    return redact.redact_data(value)


# -- the last check, for doctor ---------------------------------------------------------------------------
def _record_path(settings: Settings, env: str, cloud: str) -> Path:
    return settings.state_dir / "drift" / f"{env}-{cloud}.json"


def record_check(settings: Settings, report: DriftReport) -> Path:
    path = _record_path(settings, report.env, report.cloud)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "env": report.env,
        "cloud": report.cloud,
        "checked_at": report.checked_at,
        "drifted": [d.address for d in report.drifted],
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh)
    os.replace(tmp, path)
    return path


def last_drift_check(settings: Settings, env: str, cloud: str) -> datetime | None:
    """When `billingops drift` last completed for env/cloud (None: never, or the record is unreadable)."""
    path = _record_path(settings, env, cloud)
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))["checked_at"]
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
