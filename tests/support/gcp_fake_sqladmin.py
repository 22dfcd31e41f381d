"""Cloud SQL Admin v1beta4 on GcpFake: instances get/list/clone/delete, getLatestRecoveryTime,
backupRuns list, operations get. The real wire format: camelCase JSON, int64 as strings, Operations with
status PENDING → RUNNING → DONE (one step per poll, so tests see progress), errors as {"error": {...}}.

    fake = GcpFake.start(); install(fake); add_instance(fake, "proj", "billing-staging-postgres")
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.gcp_fake import GcpFake, error

BASE = r"/sql/v1beta4/projects/(?P<project>[^/]+)"
_ids = itertools.count(1)


def _now() -> datetime:
    return datetime.now(UTC)


def _fmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def add_instance(
    fake: GcpFake,
    project: str,
    name: str,
    *,
    state: str = "RUNNABLE",
    regional: bool = True,
    pitr: bool = True,
    disk_gb: int = 100,
    used_bytes: int = 40 * 1024**3,
    ip: str = "10.0.0.5",
    backups: int = 3,
    window_days: int = 7,
    server_ca_pem: str = "",
    server_ca_mode: str = "GOOGLE_MANAGED_INTERNAL_CA",
    dns_name: str = "",
) -> dict[str, Any]:
    """`server_ca_pem`, `server_ca_mode` and `dns_name` as instances.get returns them: serverCaCert (an
    sql#sslCert whose `cert` is the PEM), settings.ipConfiguration.serverCaMode, and dnsName / dnsNames, which
    only instances on a CAS-based CA (GOOGLE_MANAGED_CAS_CA, CUSTOMER_MANAGED_CAS_CA) have."""
    instance = {
        "kind": "sql#instance",
        "name": name,
        "project": project,
        "region": "us-central1",
        "state": state,
        "databaseVersion": "POSTGRES_15",
        "connectionName": f"{project}:us-central1:{name}",
        "currentDiskSize": str(used_bytes),
        "ipAddresses": [{"type": "PRIVATE", "ipAddress": ip}],
        "settings": {
            "tier": "db-custom-2-7680",
            "ipConfiguration": {"ipv4Enabled": False, "sslMode": "ENCRYPTED_ONLY", "serverCaMode": server_ca_mode},
            "availabilityType": "REGIONAL" if regional else "ZONAL",
            "dataDiskSizeGb": str(disk_gb),
            "deletionProtectionEnabled": False,
            "backupConfiguration": {
                "enabled": True,
                "pointInTimeRecoveryEnabled": pitr,
                "transactionLogRetentionDays": window_days,
                "backupRetentionSettings": {"retainedBackups": 30, "retentionUnit": "COUNT"},
            },
        },
    }
    if server_ca_pem:
        instance["serverCaCert"] = {
            "kind": "sql#sslCert",
            "certSerialNumber": "0",
            "cert": server_ca_pem,
            "commonName": "C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA,dnQualifier=0",
            "createTime": _fmt(_now() - timedelta(days=30)),
            "expirationTime": _fmt(_now() + timedelta(days=3650)),
            "sha1Fingerprint": "0" * 40,
            "instance": name,
        }
    if dns_name:
        instance["dnsName"] = dns_name
        instance["dnsNames"] = [{"name": dns_name, "connectionType": "PRIVATE_SERVICES_ACCESS",
                                 "dnsScope": "INSTANCE"}]
    sql = _state(fake)
    sql["instances"][(project, name)] = instance
    now = _now()
    sql["windows"][(project, name)] = (now - timedelta(days=window_days), now - timedelta(minutes=2))
    sql["backup_runs"][(project, name)] = [
        {
            "kind": "sql#backupRun",
            "id": str(1700000000000 + i),
            "status": "SUCCESSFUL",
            "type": "AUTOMATED",
            "instance": name,
            "startTime": _fmt(now - timedelta(days=i + 1)),
            "endTime": _fmt(now - timedelta(days=i + 1) + timedelta(minutes=4)),
            "enqueuedTime": _fmt(now - timedelta(days=i + 1)),
        }
        for i in range(backups)
    ]
    return instance


def _state(fake: GcpFake) -> dict[str, Any]:
    return fake.state.setdefault(
        "sqladmin", {"instances": {}, "windows": {}, "backup_runs": {}, "operations": {}}
    )


def _operation(
    fake: GcpFake, project: str, instance: str, kind: str, *, on_done=None, steps: int = 2
) -> dict:
    name = f"op-{next(_ids)}"
    op = {
        "kind": "sql#operation",
        "name": name,
        "status": "PENDING",
        "operationType": kind,
        "targetId": instance,
        "targetProject": project,
        "insertTime": _fmt(_now()),
        "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{project}/operations/{name}",
    }
    _state(fake)["operations"][(project, name)] = {"op": op, "remaining": steps, "on_done": on_done}
    return op


def _get_instance(fake, request, project, instance):
    found = _state(fake)["instances"].get((project, instance))
    if found is None:
        return error(404, f"The Cloud SQL instance does not exist: {instance}", "NOT_FOUND")
    return 200, found


def _list_instances(fake, request, project):
    items = [v for (p, _), v in _state(fake)["instances"].items() if p == project]
    return 200, {"kind": "sql#instancesList", "items": items}


def _recovery_time(fake, request, project, instance):
    if (project, instance) not in _state(fake)["instances"]:
        return error(404, f"The Cloud SQL instance does not exist: {instance}", "NOT_FOUND")
    earliest, latest = _state(fake)["windows"][(project, instance)]
    return 200, {
        "kind": "sql#getLatestRecoveryTime",
        "latestRecoveryTime": _fmt(latest),
        "earliestRecoveryTime": _fmt(earliest),
    }


def _backup_runs(fake, request, project, instance):
    if (project, instance) not in _state(fake)["instances"]:
        return error(404, f"The Cloud SQL instance does not exist: {instance}", "NOT_FOUND")
    return 200, {"kind": "sql#backupRunsList", "items": _state(fake)["backup_runs"][(project, instance)]}


def _clone(fake, request, project, instance):
    sql = _state(fake)
    source = sql["instances"].get((project, instance))
    if source is None:
        return error(404, f"The Cloud SQL instance does not exist: {instance}", "NOT_FOUND")
    context = (request.body or {}).get("cloneContext") or {}
    target = context.get("destinationInstanceName")
    if not target:
        return error(400, "Missing destinationInstanceName.", "INVALID_ARGUMENT")
    if (project, target) in sql["instances"]:
        return error(409, f"The Cloud SQL instance already exists: {target}", "ALREADY_EXISTS")
    if context.get("pointInTime"):
        earliest, latest = sql["windows"][(project, instance)]
        wanted = _parse(context["pointInTime"])
        if not earliest <= wanted <= latest:
            return error(400, "The point in time is outside the retention window.", "INVALID_ARGUMENT")
    clone = {
        **source,
        "name": target,
        "state": "PENDING_CREATE",
        "connectionName": f"{project}:us-central1:{target}",
        "ipAddresses": [{"type": "PRIVATE", "ipAddress": "10.0.0.99"}],
    }
    sql["instances"][(project, target)] = clone
    sql["windows"][(project, target)] = (_now(), _now())
    sql["backup_runs"][(project, target)] = []

    def done() -> None:
        clone["state"] = "RUNNABLE"

    return 200, _operation(fake, project, target, "CLONE", on_done=done)


def _delete(fake, request, project, instance):
    sql = _state(fake)
    if (project, instance) not in sql["instances"]:
        return error(404, f"The Cloud SQL instance does not exist: {instance}", "NOT_FOUND")
    del sql["instances"][(project, instance)]
    return 200, _operation(fake, project, instance, "DELETE", steps=0)


def _get_operation(fake, request, project, operation):
    entry = _state(fake)["operations"].get((project, operation))
    if entry is None:
        return error(404, f"The operation does not exist: {operation}", "NOT_FOUND")
    op = entry["op"]
    if op["status"] != "DONE":
        if entry["remaining"] <= 0:
            op["status"] = "DONE"
            op["endTime"] = _fmt(_now())
            if entry["on_done"]:
                entry["on_done"]()
        else:
            op["status"] = "RUNNING"
            entry["remaining"] -= 1
    return 200, op


def install(fake: GcpFake) -> GcpFake:
    _state(fake)
    fake.route("GET", BASE + r"/instances", _list_instances)
    fake.route("GET", BASE + r"/instances/(?P<instance>[^/]+)", _get_instance)
    fake.route("DELETE", BASE + r"/instances/(?P<instance>[^/]+)", _delete)
    fake.route("POST", BASE + r"/instances/(?P<instance>[^/]+)/clone", _clone)
    fake.route("GET", BASE + r"/instances/(?P<instance>[^/]+)/getLatestRecoveryTime", _recovery_time)
    fake.route("GET", BASE + r"/instances/(?P<instance>[^/]+)/backupRuns", _backup_runs)
    fake.route("GET", BASE + r"/operations/(?P<operation>[^/]+)", _get_operation)
    return fake
