"""Cloud SQL (Admin API v1beta4, REST): describe, backup runs and PITR window, clone at a point in time."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from billingops.clouds.base import GCP_TIMEOUT, gcp_client_kwargs, gcp_errors
from billingops.clouds.database import Backup, BackupsView, DatabaseInfo, Progress, RestoreResult, ServerCa, iso
from billingops.config import EnvConfig
from billingops.errors import CloudError, ConfigError

log = logging.getLogger(__name__)


class GcpDatabase:
    cloud = "gcp"

    def __init__(self, instances: Any, backup_runs: Any, operations: Any, project: str) -> None:
        self.instances = instances
        self.backup_runs = backup_runs
        self.operations = operations
        self.project = project

    @classmethod
    def from_env(cls, env: EnvConfig, outputs: dict[str, Any] | None = None) -> GcpDatabase:
        from google.cloud import sqladmin_v1beta4 as sql

        project = (outputs or {}).get("project_id") or env.gcp_project
        if not project:
            raise ConfigError(
                f"No GCP project is configured for {env.name}.",
                hint=f"Set [environments.{env.name}.gcp] project in billingops.toml "
                "or BILLINGOPS_GCP_PROJECT.",
            )
        kwargs = gcp_client_kwargs(env, "sqladmin")
        with gcp_errors("Creating the Cloud SQL Admin client"):
            return cls(
                sql.SqlInstancesServiceClient(**kwargs),
                sql.SqlBackupRunsServiceClient(**kwargs),
                sql.SqlOperationsServiceClient(**kwargs),
                project,
            )

    def _get(self, instance: str) -> Any:
        with gcp_errors(
            f"Reading Cloud SQL instance {instance}",
            hint="Check the instance name (--db-instance, or terraform output database_instance) "
            "and the project.",
        ):
            return self.instances.get(
                request={"project": self.project, "instance": instance}, timeout=GCP_TIMEOUT
            )

    def exists(self, instance: str) -> bool:
        from google.api_core import exceptions as gexc

        try:
            self.instances.get(request={"project": self.project, "instance": instance}, timeout=GCP_TIMEOUT)
            return True
        except gexc.NotFound:
            return False
        except gexc.GoogleAPICallError as exc:
            raise CloudError(
                f"Checking whether Cloud SQL instance {instance} exists failed: {exc}.",
                hint="Check permissions and the project.",
            ) from None

    def server_ca_for(self, host: str) -> ServerCa | None:
        """The server CA of the project's instance whose IP address or DNS name is `host` (None: no such one).

        serverCaMode decides what the certificate proves: GOOGLE_MANAGED_INTERNAL_CA (and unspecified) is a
        per-instance CA whose server certificate names project:instance, not the IP, so only the CA can be
        checked (verify-ca); the CAS-based modes put the instance's dnsName in the certificate, so a
        connection by that name is verify-full.
        """
        wanted = host.lower().rstrip(".")
        with gcp_errors(f"Listing the Cloud SQL instances of project {self.project}"):
            pager = self.instances.list(request={"project": self.project}, timeout=GCP_TIMEOUT)
            # The v1beta4 pager iterates the responses' `warnings`, not their instances: read the pages.
            listed = [item for page in pager.pages for item in page.items]
        match = next((i for i in listed if wanted in {a.ip_address for a in i.ip_addresses} | _dns_names(i)), None)
        if match is None:
            return None
        raw = self._get(match.name)
        pem = raw.server_ca_cert.cert if raw.server_ca_cert else ""
        if not pem:
            raise CloudError(f"Cloud SQL instance {raw.name} has no server CA certificate (serverCaCert).",
                             hint="Check the instance in the console (Connections > Security).")
        mode = _enum(raw.settings.ip_configuration.server_ca_mode) or "CA_MODE_UNSPECIFIED"
        cas = mode in ("GOOGLE_MANAGED_CAS_CA", "CUSTOMER_MANAGED_CAS_CA")
        return ServerCa(instance=raw.connection_name or f"{self.project}:{raw.name}", pem=pem, ca_mode=mode,
                        names_host=cas and wanted in _dns_names(raw))

    def _recovery_window(self, instance: str) -> tuple[str | None, str | None]:
        try:
            window = self.instances.get_latest_recovery_time(
                request={"project": self.project, "instance": instance}, timeout=GCP_TIMEOUT
            )
        except Exception as exc:  # noqa: BLE001  # the window is informative; restore still validates server-side
            log.info("getLatestRecoveryTime for %s unavailable: %s", instance, exc)
            return None, None
        return iso(_ts(window.earliest_recovery_time)), iso(_ts(window.latest_recovery_time))

    def describe(self, instance: str) -> DatabaseInfo:
        raw = self._get(instance)
        settings = raw.settings
        addresses = {a.type_: a.ip_address for a in raw.ip_addresses}
        endpoint = (
            addresses.get("PRIVATE") or addresses.get("PRIMARY") or next(iter(addresses.values()), None)
        )
        allocated = settings.data_disk_size_gb or None  # proto-plus unwraps Int64Value
        used = raw.current_disk_size / 1024**3 if raw.current_disk_size else None
        backup = settings.backup_configuration
        _, latest = self._recovery_window(instance) if backup.point_in_time_recovery_enabled else (None, None)
        return DatabaseInfo(
            name=raw.name,
            status=raw.state.name if hasattr(raw.state, "name") else str(raw.state),
            available=_state(raw) == "RUNNABLE",
            engine_version=raw.database_version.name
            if hasattr(raw.database_version, "name")
            else str(raw.database_version),
            high_availability=_enum(settings.availability_type) == "REGIONAL",
            endpoint=endpoint,
            port=5432 if endpoint else None,
            allocated_gb=float(allocated) if allocated else None,
            used_gb=round(used, 1) if used is not None else None,
            latest_restorable_time=latest,
            backup_retention_days=backup.transaction_log_retention_days or None,
            deletion_protection=bool(settings.deletion_protection_enabled),
        )

    def backups(self, instance: str) -> BackupsView:
        raw = self._get(instance)
        backup = raw.settings.backup_configuration
        with gcp_errors(f"Listing backup runs of Cloud SQL instance {instance}"):
            runs = list(
                self.backup_runs.list(
                    request={"project": self.project, "instance": instance}, timeout=GCP_TIMEOUT
                )
            )
        items = [
            Backup(
                id=str(r.id),
                kind=_enum(r.type_).lower() or "automated",
                status=_enum(r.status),
                created=iso(_ts(r.start_time) or _ts(r.enqueued_time)),
            )
            for r in runs
        ]
        items.sort(key=lambda b: b.created or "", reverse=True)
        pitr = bool(backup.point_in_time_recovery_enabled)
        earliest, latest = self._recovery_window(instance) if pitr else (None, None)
        retained = backup.backup_retention_settings.retained_backups or None
        return BackupsView(
            instance=instance,
            cloud="gcp",
            pitr_enabled=pitr,
            earliest_restorable_time=earliest,
            latest_restorable_time=latest,
            retention_days=backup.transaction_log_retention_days or retained,
            backups=items,
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
        context: dict[str, Any] = {"kind": "sql#cloneContext", "destination_instance_name": target}
        if to is not None:
            context["point_in_time"] = to
        started = time.monotonic()
        with gcp_errors(
            f"Cloning Cloud SQL instance {source} into {target}",
            hint="Check the time is inside the restore window (`billingops db backups`) and retry.",
        ):
            operation = self.instances.clone(
                request={"project": self.project, "instance": source, "body": {"clone_context": context}},
                timeout=GCP_TIMEOUT,
            )
        if progress:
            progress(f"clone of {source} into {target} started (operation {operation.name})")
        self._wait_operation(operation.name, started, timeout, poll, progress)
        info = self.describe(target)
        return RestoreResult(
            source=source,
            target=target,
            restore_time=iso(to) or "latest",
            status=info.status,
            endpoint=info.endpoint,
            port=info.port,
            seconds=round(time.monotonic() - started, 1),
        )

    def _wait_operation(
        self, name: str, started: float, timeout: float, poll: float, progress: Progress | None
    ) -> None:
        last = None
        while True:
            with gcp_errors(f"Polling Cloud SQL operation {name}"):
                op = self.operations.get(
                    request={"project": self.project, "operation": name}, timeout=GCP_TIMEOUT
                )
            status = _enum(op.status)
            if status != last and progress:
                progress(f"operation {name}: {status} ({time.monotonic() - started:.0f}s)")
            last = status
            if status == "DONE":
                errors = [e.message or e.code for e in (op.error.errors if op.error else [])]
                if errors:
                    raise CloudError(
                        f"Cloud SQL operation {name} failed: {'; '.join(errors)}.",
                        hint="Read the operation in the console (gcloud sql operations describe), "
                        "fix the cause and retry.",
                    )
                return
            if time.monotonic() - started > timeout:
                raise CloudError(
                    f"Cloud SQL operation {name} is still {status} after {timeout:.0f}s.",
                    hint="It continues in the background; check `gcloud sql operations list`.",
                )
            time.sleep(poll)

    def delete(self, instance: str) -> None:
        with gcp_errors(f"Deleting Cloud SQL instance {instance}"):
            self.instances.delete(
                request={"project": self.project, "instance": instance}, timeout=GCP_TIMEOUT
            )


def _dns_names(raw: Any) -> set[str]:
    names = {raw.dns_name, *(d.name for d in raw.dns_names)}
    return {n.lower().rstrip(".") for n in names if n}


def _enum(value: Any) -> str:
    return value.name if hasattr(value, "name") else str(value or "")


def _state(raw: Any) -> str:
    return _enum(raw.state)


def _ts(value: Any) -> datetime | None:
    """proto-plus gives DatetimeWithNanoseconds for Timestamp fields; an unset one is the epoch."""
    if value is None or not isinstance(value, datetime):
        return None
    return None if value.timestamp() == 0 else value
