"""RDS PostgreSQL: describe, backups and PITR window, restore-to-point-in-time into a new instance."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from billingops.clouds.base import aws_client, aws_errors
from billingops.clouds.database import Backup, BackupsView, DatabaseInfo, Progress, RestoreResult, iso
from billingops.config import EnvConfig
from billingops.errors import CloudError

log = logging.getLogger(__name__)

_GB = 1024**3


class AwsDatabase:
    cloud = "aws"

    def __init__(self, rds: Any, cloudwatch: Any | None = None) -> None:
        self.rds = rds
        self.cloudwatch = cloudwatch

    @classmethod
    def from_env(cls, env: EnvConfig) -> AwsDatabase:
        return cls(aws_client("rds", env.region), aws_client("cloudwatch", env.region))

    def _instance(self, instance: str) -> dict[str, Any]:
        with aws_errors(
            f"Describing RDS instance {instance}",
            hint="Check the instance name (--db-instance, or terraform output database_instance) "
            "and the region.",
        ):
            found: dict[str, Any] = self.rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0]
            return found

    def exists(self, instance: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.rds.describe_db_instances(DBInstanceIdentifier=instance)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "DBInstanceNotFound":
                return False
            raise CloudError(
                f"Checking whether RDS instance {instance} exists failed: {exc}.",
                hint="Check permissions and the region.",
            ) from None

    def describe(self, instance: str) -> DatabaseInfo:
        raw = self._instance(instance)
        endpoint = raw.get("Endpoint") or {}
        allocated = raw.get("AllocatedStorage")
        return DatabaseInfo(
            name=raw["DBInstanceIdentifier"],
            status=raw.get("DBInstanceStatus", "unknown"),
            available=raw.get("DBInstanceStatus") == "available",
            engine_version=f"{raw.get('Engine', 'postgres')} {raw.get('EngineVersion', '?')}",
            high_availability=bool(raw.get("MultiAZ")),
            endpoint=endpoint.get("Address"),
            port=endpoint.get("Port"),
            allocated_gb=float(allocated) if allocated is not None else None,
            used_gb=self._used_gb(instance, allocated),
            latest_restorable_time=iso(raw.get("LatestRestorableTime")),
            backup_retention_days=raw.get("BackupRetentionPeriod"),
            deletion_protection=raw.get("DeletionProtection"),
        )

    def _used_gb(self, instance: str, allocated: int | None) -> float | None:
        """Allocated minus CloudWatch FreeStorageSpace (last 15 minutes); None without a datapoint."""
        if self.cloudwatch is None or allocated is None:
            return None
        now = datetime.now(UTC)
        try:
            stats = self.cloudwatch.get_metric_statistics(
                Namespace="AWS/RDS",
                MetricName="FreeStorageSpace",
                Statistics=["Minimum"],
                Period=300,
                Dimensions=[{"Name": "DBInstanceIdentifier", "Value": instance}],
                StartTime=now - timedelta(minutes=15),
                EndTime=now + timedelta(minutes=1),
            )
        except Exception as exc:  # noqa: BLE001  # storage used is optional on the status screen
            log.info("FreeStorageSpace for %s unavailable: %s", instance, exc)
            return None
        points = sorted(stats.get("Datapoints", []), key=lambda p: p["Timestamp"])
        if not points:
            return None
        free_gb: float = points[-1]["Minimum"] / _GB
        return round(max(float(allocated) - free_gb, 0.0), 1)

    def backups(self, instance: str) -> BackupsView:
        raw = self._instance(instance)
        earliest = None
        try:
            automated = self.rds.describe_db_instance_automated_backups(DBInstanceIdentifier=instance)
            for item in automated.get("DBInstanceAutomatedBackups", []):
                earliest = iso((item.get("RestoreWindow") or {}).get("EarliestTime")) or earliest
        except Exception as exc:  # noqa: BLE001  # older APIs/emulators lack it; fall back to the snapshots
            log.info("describe_db_instance_automated_backups unavailable: %s", exc)
        with aws_errors(f"Listing snapshots of RDS instance {instance}"):
            pages = self.rds.get_paginator("describe_db_snapshots").paginate(DBInstanceIdentifier=instance)
            snapshots = [s for page in pages for s in page.get("DBSnapshots", [])]
        backups = [
            Backup(
                id=s["DBSnapshotIdentifier"],
                kind=s.get("SnapshotType", "manual"),
                status=s.get("Status", "?"),
                created=iso(s.get("SnapshotCreateTime")),
                size_gb=float(s["AllocatedStorage"]) if s.get("AllocatedStorage") else None,
            )
            for s in snapshots
        ]
        backups.sort(key=lambda b: b.created or "", reverse=True)
        retention = raw.get("BackupRetentionPeriod") or 0
        if earliest is None and retention:
            automated_times = [b.created for b in backups if b.kind == "automated" and b.created]
            created = iso(raw.get("InstanceCreateTime"))
            window_start = iso(datetime.now(UTC) - timedelta(days=retention))
            earliest = max(
                [t for t in [min(automated_times, default=None) or created, window_start] if t], default=None
            )
        return BackupsView(
            instance=instance,
            cloud="aws",
            pitr_enabled=retention > 0,
            earliest_restorable_time=earliest,
            latest_restorable_time=iso(raw.get("LatestRestorableTime")),
            retention_days=retention,
            backups=backups,
        )

    def restore(
        self,
        source: str,
        target: str,
        to: datetime | None,
        *,
        progress: Progress | None = None,
        timeout: float = 3600.0,
        poll: float = 15.0,
    ) -> RestoreResult:
        raw = self._instance(source)
        request: dict[str, Any] = {
            "SourceDBInstanceIdentifier": source,
            "TargetDBInstanceIdentifier": target,
            # a scratch/forensic copy: single-AZ, deletable, same network so the service could reach it
            "MultiAZ": False,
            "DeletionProtection": False,
            "CopyTagsToSnapshot": True,
            "Tags": [{"Key": "billingops:restored-from", "Value": source}],
        }
        if raw.get("DBInstanceClass"):
            request["DBInstanceClass"] = raw["DBInstanceClass"]
        if (raw.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"):
            request["DBSubnetGroupName"] = raw["DBSubnetGroup"]["DBSubnetGroupName"]
        groups = [
            g["VpcSecurityGroupId"] for g in raw.get("VpcSecurityGroups", []) if g.get("VpcSecurityGroupId")
        ]
        if groups:
            request["VpcSecurityGroupIds"] = groups
        if to is None:
            request["UseLatestRestorableTime"] = True
        else:
            request["RestoreTime"] = to
        started = time.monotonic()
        with aws_errors(
            f"Restoring RDS instance {source} into {target}",
            hint="Check the time is inside the restore window (`billingops db backups`) and retry.",
        ):
            self.rds.restore_db_instance_to_point_in_time(**request)
        if progress:
            progress(f"restore of {source} into {target} started")
        info = self._wait_available(target, started, timeout, poll, progress)
        return RestoreResult(
            source=source,
            target=target,
            restore_time=iso(to) or "latest",
            status=info.status,
            endpoint=info.endpoint,
            port=info.port,
            seconds=round(time.monotonic() - started, 1),
        )

    def _wait_available(
        self, target: str, started: float, timeout: float, poll: float, progress: Progress | None
    ) -> DatabaseInfo:
        last = None
        while True:
            info = self.describe(target)
            if info.status != last and progress:
                progress(f"{target}: {info.status} ({time.monotonic() - started:.0f}s)")
            last = info.status
            if info.available:
                return info
            if info.status in (
                "failed",
                "incompatible-restore",
                "incompatible-parameters",
                "incompatible-network",
            ):
                raise CloudError(
                    f"The restored instance {target} ended in state {info.status}.",
                    hint="Read its RDS events (aws rds describe-events), delete it and retry.",
                )
            if time.monotonic() - started > timeout:
                raise CloudError(
                    f"The restored instance {target} is still {info.status} after {timeout:.0f}s.",
                    hint="It keeps restoring in the background: check `billingops db backups` "
                    "or the RDS console, and delete it if it is no longer needed.",
                )
            time.sleep(poll)

    def delete(self, instance: str) -> None:
        with aws_errors(f"Deleting RDS instance {instance}"):
            self.rds.delete_db_instance(
                DBInstanceIdentifier=instance, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
            )
