"""Cloud adapters, and the only place that chooses between AWS and GCP.

Each capability has a protocol and its dataclasses in its own module (secrets.py, rollout.py,
database.py, status.py) and one adapter per cloud under aws/ and gcp/. The factories below pick the
adapter by `env.cloud`; they import the adapter (and with it the SDK) only when called, so
`billingops --help` never pays for boto3 or the Google clients, and the protocol modules never
import an adapter (no import cycles).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from billingops.errors import ConfigError

if TYPE_CHECKING:
    from billingops.clouds.database import DatabaseAdapter, ServerCa
    from billingops.clouds.identity import Identity
    from billingops.clouds.rollout import ImageRegistry, Rollout
    from billingops.clouds.secrets import SecretStore
    from billingops.config import EnvConfig

CLOUDS = ("aws", "gcp")


def _check(env: EnvConfig) -> None:
    if env.cloud not in CLOUDS:
        raise ConfigError(f"Unknown cloud {env.cloud!r}.", hint="Pass --cloud aws or gcp.")


# The terraform outputs that name what a rollout changes: the ECS cluster and service, or the Cloud Run service.
_ROLLOUT_TARGET_OUTPUTS: dict[str, tuple[str, ...]] = {
    "aws": ("ecs_cluster_name", "service_name"),
    "gcp": ("service_name",),
}


def rollout_target_outputs(env: EnvConfig) -> list[str]:
    """The terraform outputs (or their flags) a rollout / rollback of env needs before it can start."""
    _check(env)
    return list(_ROLLOUT_TARGET_OUTPUTS[env.cloud])


# Whether a cloud's service lives in a cluster that must be named too (ECS) or stands alone (Cloud Run).
_SERVICE_IN_CLUSTER: dict[str, bool] = {"aws": True, "gcp": False}


def service_in_cluster(env: EnvConfig) -> bool:
    """True when env's service is addressed as cluster + service (ECS), False for a lone service (Cloud Run)."""
    _check(env)
    return _SERVICE_IN_CLUSTER[env.cloud]


def secret_store(env: EnvConfig, outputs: Mapping[str, Any] | None = None) -> SecretStore:
    """The secret store of env.cloud, with real SDK clients."""
    _check(env)
    if env.cloud == "aws":
        from billingops.clouds.aws.secrets import AwsSecretStore

        return AwsSecretStore.from_env(env, outputs or {})
    from billingops.clouds.gcp.secrets import GcpSecretStore

    return GcpSecretStore.from_env(env, outputs or {})


def rollout_adapter(env: EnvConfig, outputs: Mapping[str, Any], *, health_url: str | None = None,
                    fence: Callable[[str], None] | None = None) -> Rollout:
    """`fence` is called before each service update (see clouds.rollout.Fence)."""
    _check(env)
    if env.cloud == "aws":
        from billingops.clouds.aws.rollout import EcsRollout

        return EcsRollout.from_env(env, outputs, health_url=health_url, fence=fence)
    from billingops.clouds.gcp.rollout import CloudRunRollout

    return CloudRunRollout.from_env(env, outputs, health_url=health_url, fence=fence)


def redis_operator_url(env: EnvConfig, outputs: Mapping[str, Any]) -> str | None:
    """The Redis URL an operator's tool (migrate-cloud) signs in with when the cloud needs no stored secret for
    it: ElastiCache's IAM-authenticated `ops` user with a fresh token. None where the REDIS_URL secret is the way
    in (Memorystore's AUTH string, or an older AWS stack)."""
    _check(env)
    if env.cloud != "aws":
        return None
    from billingops.clouds.aws.cache_auth import ops_redis_url

    return ops_redis_url(env, outputs)


def image_registry(env: EnvConfig, outputs: Mapping[str, Any]) -> ImageRegistry:
    _check(env)
    if env.cloud == "aws":
        from billingops.clouds.aws.registry import EcrRegistry

        return EcrRegistry.from_env(env, outputs)
    from billingops.clouds.gcp.registry import ArtifactRegistry

    return ArtifactRegistry.from_env(env, outputs)


def cloud_sql_server_ca(env: EnvConfig, host: str) -> ServerCa | None:
    """The server CA of the Cloud SQL instance of env's project reached at `host` (None: not one of them)."""
    _check(env)
    from billingops.clouds.gcp.database import GcpDatabase

    return GcpDatabase.from_env(env).server_ca_for(host)


def database_adapter(env: EnvConfig, outputs: Mapping[str, Any] | None = None) -> DatabaseAdapter:
    """The managed-database adapter (RDS or Cloud SQL Admin)."""
    _check(env)
    if env.cloud == "aws":
        from billingops.clouds.aws.database import AwsDatabase

        return AwsDatabase.from_env(env)
    from billingops.clouds.gcp.database import GcpDatabase

    return GcpDatabase.from_env(env, dict(outputs or {}))


def status_adapter(env: EnvConfig, project: str | None = None) -> Any:
    """The service + cache status reader (ECS/ElastiCache or Cloud Run/Memorystore)."""
    _check(env)
    if env.cloud == "aws":
        from billingops.clouds.aws.status import AwsStatus

        return AwsStatus.from_env(env)
    from billingops.clouds.gcp.status import GcpStatus

    return GcpStatus.from_env(env, project)


def migration_task(env: EnvConfig, outputs: Mapping[str, Any], **kwargs: Any) -> Any:
    """The one-off migration runner: an ECS task (AWS) or a Cloud Run job execution (GCP).

    `kwargs` carries the adapter's overrides (AWS: cluster, task_definition, container, subnets,
    security_groups; GCP: job), image (the image being deployed: both clouds run it) and timeout / say."""
    _check(env)
    if env.cloud == "aws":
        from billingops.clouds.aws.task import EcsMigrationTask

        kwargs.pop("job", None)
        return EcsMigrationTask.from_outputs(env, outputs, **kwargs)
    from billingops.clouds.gcp.task import CloudRunMigrationJob

    # the job is pointed at the deployed image before it runs (a run's overrides cannot name an image)
    return CloudRunMigrationJob.from_outputs(env, outputs, job=kwargs.pop("job", None), **kwargs)


def caller_identity(env: EnvConfig, *, ask_cloud: bool = True) -> Identity:
    """Who the cloud says we are (STS caller identity / the Google account); raises CloudError when it cannot
    be asked, which is also how billingops learns the cloud cannot be reached."""
    _check(env)
    if env.cloud == "aws":
        from billingops.clouds.aws import identity as aws

        return aws.caller_identity(env) if ask_cloud else aws.local_credentials(env)
    from billingops.clouds.gcp import identity as gcp

    return gcp.caller_identity(env) if ask_cloud else gcp.local_credentials(env)


# The terraform output holding the URL the health gate and the post-deploy check call: the load balancer on both
# clouds (on GCP the run.app service_url refuses outside requests: ingress is internal + load balancer).
HEALTH_URL_OUTPUT = {"aws": "load_balancer_url", "gcp": "load_balancer_url"}
