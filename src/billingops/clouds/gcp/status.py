"""Cloud Run service and Memorystore state for `billingops status`."""

from __future__ import annotations

import logging
from typing import Any

from billingops.clouds.base import GCP_TIMEOUT, gcp_client_kwargs, gcp_errors
from billingops.clouds.status import CacheStatus, ServiceStatus
from billingops.config import EnvConfig
from billingops.errors import CloudError, ConfigError

log = logging.getLogger(__name__)

REDIS_API = "https://redis.googleapis.com/v1"


class GcpStatus:
    def __init__(
        self, run: Any, project: str, region: str, *, http: Any = None, redis_api: str = REDIS_API
    ) -> None:
        self.run = run
        self.project = project
        self.region = region
        self._http = http
        self.redis_api = redis_api.rstrip("/")

    @classmethod
    def from_env(cls, env: EnvConfig, project: str | None = None) -> GcpStatus:
        from google.cloud import run_v2

        project = project or env.gcp_project
        if not project:
            raise ConfigError(
                f"No GCP project is configured for {env.name}.",
                hint=f"Set [environments.{env.name}.gcp] project or BILLINGOPS_GCP_PROJECT.",
            )
        with gcp_errors("Creating the Cloud Run client"):
            return cls(run_v2.ServicesClient(**gcp_client_kwargs(env, "run")), project, env.region)

    def service(self, name: str) -> ServiceStatus:
        path = (
            name
            if name.startswith("projects/")
            else f"projects/{self.project}/locations/{self.region}/services/{name}"
        )
        with gcp_errors(
            f"Reading Cloud Run service {name}",
            hint="Check --service (terraform output service_name), the project and the region.",
        ):
            svc = self.run.get_service(name=path, timeout=GCP_TIMEOUT)
        traffic = [f"{t.revision or 'latest'} {t.percent}%" for t in svc.traffic_statuses if t.percent]
        condition = svc.terminal_condition
        state = condition.state.name if condition and hasattr(condition.state, "name") else None
        detail = f"{state}" + (
            f": {condition.reason.name if hasattr(condition.reason, 'name') else condition.reason}"
            if condition and condition.reason
            else ""
        )
        if svc.reconciling:
            detail += " (rollout in progress)"
        scaling = svc.template.scaling
        low, high = scaling.min_instance_count, scaling.max_instance_count
        image = svc.template.containers[0].image if svc.template.containers else None
        serving = ", ".join(traffic) or svc.latest_ready_revision.rsplit("/", 1)[-1]
        return ServiceStatus(
            name=svc.name.rsplit("/", 1)[-1],
            desired=f"{low}-{high} (autoscaled)",
            running="n/a (Cloud Run reports instances as a metric)",
            pending=None,
            serving=f"{serving} [{image}]" if image else serving,
            deployment=detail or None,
            healthy=state == "CONDITION_SUCCEEDED" if state else None,
        )

    def cache(self, cache_id: str) -> CacheStatus:
        """Memorystore over its REST API (no client library is installed for it)."""
        path = (
            cache_id
            if cache_id.startswith("projects/")
            else f"projects/{self.project}/locations/{self.region}/instances/{cache_id}"
        )
        url = f"{self.redis_api}/{path}"
        try:
            response = self._session().get(url, timeout=GCP_TIMEOUT)
        except Exception as exc:  # noqa: BLE001  # auth and transport errors alike end in a clear sentence
            raise CloudError(
                f"Reading Memorystore instance {cache_id} failed: {exc}.",
                hint="Check credentials (gcloud auth application-default login) and --cache-id.",
            ) from None
        if response.status_code != 200:
            raise CloudError(
                f"Reading Memorystore instance {cache_id} failed: HTTP {response.status_code} "
                f"{response.text[:200]}.",
                hint="Check --cache-id, the project and permissions.",
            )
        data = response.json()
        tier = data.get("tier", "?")
        failover = (
            "automatic failover to the replica (STANDARD_HA)" if tier == "STANDARD_HA" else f"none ({tier})"
        )
        return CacheStatus(
            id=cache_id,
            status=data.get("state", "?"),
            available=data.get("state") == "READY",
            failover=failover,
            node_type=f"{data.get('memorySizeGb', '?')} GB",
            engine=data.get("redisVersion"),
        )

    def _session(self) -> Any:
        if self._http is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            self._http = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]  # google-auth: unannotated
        return self._http
