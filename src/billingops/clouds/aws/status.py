"""ECS service and ElastiCache state for `billingops status`."""

from __future__ import annotations

import logging
from typing import Any

from billingops.clouds.base import aws_client, aws_errors
from billingops.clouds.status import CacheStatus, ServiceStatus
from billingops.config import EnvConfig
from billingops.errors import CloudError

log = logging.getLogger(__name__)


class AwsStatus:
    def __init__(self, ecs: Any, elasticache: Any) -> None:
        self.ecs = ecs
        self.elasticache = elasticache

    @classmethod
    def from_env(cls, env: EnvConfig) -> AwsStatus:
        return cls(aws_client("ecs", env.region), aws_client("elasticache", env.region))

    def service(self, cluster: str, service: str, container: str | None = None,
                declared: str | None = None) -> ServiceStatus:
        """`declared`: terraform's latest task definition (output task_definition_arn), to say when the
        serving revision lags it."""
        from billingops.clouds.aws.rollout import revision_lag

        with aws_errors(f"Describing ECS service {service} in cluster {cluster}"):
            found = self.ecs.describe_services(cluster=cluster, services=[service])
        services = found.get("services", [])
        if not services or services[0].get("status") == "INACTIVE":
            reason = (found.get("failures") or [{}])[0].get("reason", "not found")
            raise CloudError(
                f"ECS service {service} in cluster {cluster}: {reason}.",
                hint="Check --cluster/--service (terraform outputs ecs_cluster_name, service_name).",
            )
        svc = services[0]
        deployments = svc.get("deployments", [])
        primary = next(
            (d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else {}
        )
        state = primary.get("rolloutState") or primary.get("status")
        if primary.get("rolloutStateReason"):
            state = f"{state}: {primary['rolloutStateReason']}"
        if len(deployments) > 1:
            state = f"{state} ({len(deployments)} deployments in flight)"
        desired, running = svc.get("desiredCount", 0), svc.get("runningCount", 0)
        lag = revision_lag(svc.get("taskDefinition") or primary.get("taskDefinition"), declared)
        if lag is not None:
            state = f"{state}; {lag}"
        return ServiceStatus(
            name=service,
            desired=desired,
            running=running,
            pending=svc.get("pendingCount", 0),
            serving=self._image(primary.get("taskDefinition") or svc.get("taskDefinition"), container),
            deployment=state,
            healthy=running >= desired and primary.get("rolloutState") != "FAILED",
            behind_terraform=lag,
        )

    def _image(self, task_definition: str | None, container: str | None) -> str | None:
        if not task_definition:
            return None
        try:
            described = self.ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        except Exception as exc:  # noqa: BLE001  # the image is a detail; the family:revision still identifies it
            log.info("describe_task_definition %s failed: %s", task_definition, exc)
            return task_definition.rsplit("/", 1)[-1]
        containers = described.get("containerDefinitions", [])
        chosen = next(
            (c for c in containers if c.get("name") == container), containers[0] if containers else {}
        )
        revision = f"{described.get('family')}:{described.get('revision')}"
        return f"{chosen.get('image', '?')} ({revision})"

    def cache(self, cache_id: str) -> CacheStatus:
        """A replication group (the platform's shape: primary + replica), else a single cache cluster."""
        try:
            with aws_errors(f"Describing ElastiCache replication group {cache_id}"):
                groups = self.elasticache.describe_replication_groups(ReplicationGroupId=cache_id)[
                    "ReplicationGroups"
                ]
        except CloudError as exc:
            if exc.details.get("aws_error_code") not in ("ReplicationGroupNotFoundFault", "InvalidAction"):
                raise
            groups = []
        if groups:
            group = groups[0]
            automatic, multi_az = group.get("AutomaticFailover", "?"), group.get("MultiAZ", "?")
            failover = f"automatic failover {automatic}, Multi-AZ {multi_az}"
            return CacheStatus(
                id=cache_id,
                status=group.get("Status", "?"),
                available=group.get("Status") == "available",
                failover=failover,
                node_type=group.get("CacheNodeType"),
                engine=f"redis ({len(group.get('MemberClusters', []))} nodes)",
            )
        with aws_errors(
            f"Describing ElastiCache cluster {cache_id}",
            hint="Check --cache-id (terraform output cache_id) and the region.",
        ):
            cluster = self.elasticache.describe_cache_clusters(CacheClusterId=cache_id)["CacheClusters"][0]
        return CacheStatus(
            id=cache_id,
            status=cluster.get("CacheClusterStatus", "?"),
            available=cluster.get("CacheClusterStatus") == "available",
            failover="none (single node)",
            node_type=cluster.get("CacheNodeType"),
            engine=f"{cluster.get('Engine', 'redis')} {cluster.get('EngineVersion', '')}".strip(),
        )
