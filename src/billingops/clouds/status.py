"""What a status adapter (clouds/aws/status.py, clouds/gcp/status.py) reports: the service and the cache.

The use case that puts them on one screen with the database, the state lock and the last deploy is
services/status.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServiceStatus:
    name: str
    desired: int | str | None
    running: int | str | None
    pending: int | None
    serving: str | None  # the image (AWS) or the revision(s) with their traffic share (GCP)
    deployment: str | None  # last deployment state
    healthy: bool | None
    behind_terraform: str | None = None  # AWS: why the serving revision lags terraform's latest, else None


@dataclass
class CacheStatus:
    id: str
    status: str
    available: bool
    failover: str
    node_type: str | None = None
    engine: str | None = None
