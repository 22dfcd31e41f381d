"""Summarise `terraform show -json PLANFILE`: counts per action and resource type, and the dangerous
changes (destroys and replacements of stateful resources: databases, caches, keys, buckets)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

STATEFUL_TYPES = frozenset({
    "aws_db_instance", "aws_rds_cluster", "aws_rds_cluster_instance", "aws_db_snapshot",
    "aws_elasticache_replication_group", "aws_elasticache_cluster", "aws_elasticache_serverless_cache",
    "aws_elasticache_user_group", "aws_sns_topic",
    "aws_kms_key", "aws_s3_bucket", "aws_dynamodb_table", "aws_secretsmanager_secret", "aws_ecr_repository",
    "aws_efs_file_system", "aws_ebs_volume", "aws_cloudwatch_log_group",
    "google_sql_database_instance", "google_sql_database", "google_redis_instance", "google_kms_crypto_key",
    "google_kms_key_ring", "google_storage_bucket", "google_secret_manager_secret",
    "google_artifact_registry_repository", "google_compute_disk",
})

# What decides whether destroying a resource of this type loses data, read from the state side of the plan
# ("before"): the approval gate lists these next to each destroy or replacement. A type absent here, or with
# no setting, has nothing that keeps its data (an SNS topic's subscriptions, a user group's membership).
DESTROY_SAFETY: dict[str, tuple[str, ...]] = {
    "aws_db_instance": ("deletion_protection", "skip_final_snapshot", "final_snapshot_identifier",
                        "delete_automated_backups"),
    "aws_rds_cluster": ("deletion_protection", "skip_final_snapshot", "final_snapshot_identifier"),
    "aws_elasticache_replication_group": ("final_snapshot_identifier", "snapshot_retention_limit"),
    "aws_elasticache_cluster": ("final_snapshot_identifier", "snapshot_retention_limit"),
    "aws_elasticache_serverless_cache": ("snapshot_retention_limit",),
    "aws_kms_key": ("deletion_window_in_days",),
    "aws_secretsmanager_secret": ("recovery_window_in_days",),
    "aws_s3_bucket": ("force_destroy",),
    "aws_ecr_repository": ("force_delete",),
    "aws_dynamodb_table": ("deletion_protection_enabled",),
    "google_sql_database_instance": ("deletion_protection", "settings.deletion_protection_enabled"),
    "google_storage_bucket": ("force_destroy",),
    "google_kms_crypto_key": ("destroy_scheduled_duration",),
    "google_secret_manager_secret": ("deletion_protection",),
    "google_cloud_run_v2_service": ("deletion_protection",),
}


def _setting(values: dict[str, Any], path: str) -> Any:
    value: Any = values
    for part in path.split("."):
        if isinstance(value, list):  # a nested block is a list of one object in the plan JSON
            value = value[0] if value else None
        value = value.get(part) if isinstance(value, dict) else None
    return value


def destroy_safety(rtype: str, before: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """The destroy-safety settings of a resource as its state holds them (None: not set)."""
    return tuple((name, _setting(before or {}, name)) for name in DESTROY_SAFETY.get(rtype, ()))


def describe_safety(safety: tuple[tuple[str, Any], ...] | list[list[Any]]) -> str:
    if not safety:
        return "no destroy-safety setting"
    return ", ".join(f"{name}={_shown(value)}" for name, value in safety)


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    action: str  # create | update | delete | replace | read
    stateful: bool
    safety: tuple[tuple[str, Any], ...] = ()  # destroy-safety settings, for destroys and replacements

    @property
    def dangerous(self) -> bool:
        return self.stateful and self.action in ("delete", "replace")


@dataclass
class PlanSummary:
    add: int = 0
    change: int = 0
    destroy: int = 0
    replace: int = 0
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    drift: int = 0

    @property
    def dangerous(self) -> list[Change]:
        return [c for c in self.changes if c.dangerous]

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy or self.replace)

    def headline(self) -> str:
        text = f"{self.add} to add, {self.change} to change, {self.destroy} to destroy"
        if self.replace:
            text += f" ({self.replace} replaced)"
        if self.dangerous:
            text += f"; {len(self.dangerous)} stateful resource(s) destroyed or replaced"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "add": self.add, "change": self.change, "destroy": self.destroy, "replace": self.replace,
            "by_type": self.by_type,
            "dangerous": [c.address for c in self.dangerous],
            "destroy_safety": {c.address: dict(c.safety) for c in self.dangerous},
            "changes": [{"address": c.address, "type": c.type, "action": c.action, "stateful": c.stateful}
                        for c in self.changes],
        }


def action_of(actions: list[str]) -> str | None:
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    if actions == ["create"]:
        return "create"
    if actions == ["update"]:
        return "update"
    if actions == ["delete"]:
        return "delete"
    return None  # no-op, read


def summarize(plan: dict[str, Any]) -> PlanSummary:
    summary = PlanSummary()
    per_type: dict[str, Counter[str]] = {}
    for rc in plan.get("resource_changes", []) or []:
        if rc.get("mode") == "data":
            continue
        action = action_of(rc.get("change", {}).get("actions", []))
        if action is None:
            continue
        rtype = rc.get("type", "?")
        safety = destroy_safety(rtype, rc["change"].get("before")) if action in ("delete", "replace") else ()
        summary.changes.append(Change(rc.get("address", "?"), rtype, action, rtype in STATEFUL_TYPES, safety))
        per_type.setdefault(rtype, Counter())[action] += 1
        if action == "create":
            summary.add += 1
        elif action == "update":
            summary.change += 1
        elif action == "delete":
            summary.destroy += 1
        else:
            # terraform counts a replacement as one add and one destroy; so do we
            summary.replace += 1
            summary.add += 1
            summary.destroy += 1
    summary.by_type = {t: dict(sorted(c.items())) for t, c in sorted(per_type.items())}
    summary.drift = len(plan.get("resource_drift", []) or [])
    return summary


# `plan -json` names each planned change with one action; the saved plan lists it as terraform's action list.
_STREAM_ACTIONS = {"create": ["create"], "update": ["update"], "delete": ["delete"], "replace": ["delete", "create"]}


class PlanStream:
    """What the `plan -json` event stream says about a plan, so that the common plan (creates and updates
    only) needs no `terraform show -json` afterwards: that second process loads every provider's schema
    again, seconds per deploy. A destroy or replacement needs the values before the change (the approval
    gate's destroy-safety settings), and only the saved plan has those: `plan_like()` is then None."""

    def __init__(self) -> None:
        self.changes: list[dict[str, Any]] = []
        self.drift = 0
        self.totals: dict[str, int] | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "planned_change":
            self.changes.append(event.get("change") or {})
        elif kind == "resource_drift":
            self.drift += 1
        elif kind == "change_summary":
            self.totals = event.get("changes") or {}

    def plan_like(self) -> dict[str, Any] | None:
        """The plan as `summarize` reads it, or None when the saved plan must be read (`show -json`)."""
        if self.totals is None:
            return None  # no summary line: an older terraform, or a stream cut short
        resources = []
        for change in self.changes:
            resource = change.get("resource") or {}
            action = str(change.get("action", ""))
            if action in ("delete", "replace"):
                return None
            address = str(resource.get("addr", ""))
            if not address or address.startswith("data.") or ".data." in address:
                continue
            if action in _STREAM_ACTIONS:
                resources.append({"address": address, "type": resource.get("resource_type", "?"), "mode": "managed",
                                  "change": {"actions": _STREAM_ACTIONS[action], "before": None}})
        plan = {"resource_changes": resources, "resource_drift": [{}] * self.drift}
        counted = summarize(plan)
        # Cross-check against terraform's own totals: any disagreement and the saved plan decides.
        if (counted.add, counted.change, counted.destroy) != (self.totals.get("add"), self.totals.get("change"),
                                                              self.totals.get("remove")):
            return None
        return plan
