"""The environment model: prod/staging/dev x aws/gcp, their profiles and secrets, and one environment resolved
from the file's table, the environment variables and the defaults (flags > env vars > billingops.toml >
defaults) into a frozen EnvConfig."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.errors import ConfigError
from billingops.resources import bundled_path

if TYPE_CHECKING:  # Settings.env() calls resolve_env(): loading.py imports this module, not the reverse
    from billingops.config.loading import Settings

CONFIG_FILENAME = "billingops.toml"
ENVIRONMENTS = ("prod", "staging", "dev")
CLOUDS = ("aws", "gcp")
SECRET_SOURCES = ("input", "generate", "terraform")
MIGRATION_MODES = ("direct", "task")
GCP_API_NAMES = ("run", "secretmanager", "sqladmin", "artifactregistry", "storage")

# The seed's environment table ("Environment-Specific Configurations").
ENV_PROFILES: dict[str, dict[str, Any]] = {
    "prod": {"multi_az": True, "backup_retention_days": 30, "deletion_protection": True,
             "min_capacity": 2, "max_capacity": 10},
    "staging": {"multi_az": False, "backup_retention_days": 7, "deletion_protection": False,
                "min_capacity": 1, "max_capacity": 5},
    "dev": {"multi_az": False, "backup_retention_days": 1, "deletion_protection": False,
            "min_capacity": 1, "max_capacity": 3},
}

DEFAULT_SECRETS: tuple[dict[str, Any], ...] = (
    {"name": "DATABASE_URL", "source": "terraform"},
    {"name": "REDIS_URL", "source": "terraform"},
    {"name": "SECRET_KEY", "source": "generate", "length": 64},
    {"name": "STRIPE_API_KEY", "source": "input"},
    {"name": "STRIPE_WEBHOOK_SECRET", "source": "input"},
)


@dataclass(frozen=True)
class SecretSpec:
    """A secret the app needs. `source`: input (env var / dotenv / stdin), generate, or terraform."""

    name: str
    source: str = "input"
    generate: bool = False
    length: int = 48
    required: bool = True

    @property
    def env_var(self) -> str:
        return f"BILLINGOPS_SECRET_{self.name.upper().replace('-', '_')}"


@dataclass(frozen=True)
class EnvConfig:
    """One environment on one cloud, fully resolved."""

    name: str
    cloud: str
    region: str
    gcp_project: str | None
    terraform_dir: Path
    image_repository: str
    service_name: str
    health_path: str
    domain_name: str
    migrations_dir: Path
    migrations_mode: str
    secrets: tuple[SecretSpec, ...]
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    min_capacity: int
    max_capacity: int
    gcp_endpoints: Mapping[str, str] = field(default_factory=dict)
    state_dir: Path = Path(".billingops")
    # The RDS CA bundle (PEM, e.g. global-bundle.pem): PostgreSQL connections to this environment on AWS verify
    # the server's certificate and name against it (sslmode=verify-full).
    rds_ca_bundle: Path | None = None

    @property
    def tfvars_path(self) -> Path:
        return self.terraform_dir / "envs" / f"{self.name}.tfvars"

    @property
    def backend_config_path(self) -> Path:
        return self.terraform_dir / "envs" / f"{self.name}.backend.hcl"

    @property
    def is_prod(self) -> bool:
        return self.name == "prod"


def resolve_env(settings: Settings, name: str, cloud_flag: str | None) -> EnvConfig:
    raw = settings.raw_envs.get(name, {})
    where = str(settings.config_path) if settings.config_path else CONFIG_FILENAME
    cloud = cloud_flag or os.environ.get("BILLINGOPS_CLOUD") or raw.get("cloud") or "aws"
    if cloud not in CLOUDS:
        raise ConfigError(
            f"Unknown cloud {cloud!r}: accepted values are {', '.join(CLOUDS)}.",
            hint="Pass --cloud aws|gcp (or fix BILLINGOPS_CLOUD / the cloud key in " + where + ").",
        )
    per_cloud = raw.get(cloud, {})
    profile = {**ENV_PROFILES[name], **{k: raw[k] for k in ENV_PROFILES[name] if k in raw}}
    root = settings.project_root

    tf_dir_value = (os.environ.get("BILLINGOPS_TERRAFORM_DIR") or per_cloud.get("terraform_dir")
                    or raw.get("terraform_dir"))
    terraform_dir = project_path(tf_dir_value, root) if tf_dir_value else _default_terraform_dir(root, cloud)
    default_region = "us-east-1" if cloud == "aws" else "us-central1"
    region = os.environ.get("BILLINGOPS_REGION") or per_cloud.get("region") or default_region
    gcp_project = os.environ.get("BILLINGOPS_GCP_PROJECT") or raw.get("gcp", {}).get("project")
    image_repository = (os.environ.get("BILLINGOPS_IMAGE_REPOSITORY") or per_cloud.get("image_repository")
                        or raw.get("image_repository") or "")
    migrations_value = raw.get("migrations_dir")
    migrations_dir = project_path(migrations_value, root) if migrations_value else _default_migrations_dir(root)
    secrets_raw = raw.get("secrets") or DEFAULT_SECRETS
    bundle = os.environ.get("BILLINGOPS_RDS_CA_BUNDLE") or raw.get("aws", {}).get("rds_ca_bundle")
    secrets = tuple(
        SecretSpec(
            name=s["name"],
            source=s.get("source", "input"),
            generate=s.get("generate", s.get("source") == "generate"),
            length=s.get("length", 48),
            required=s.get("required", True),
        )
        for s in secrets_raw
    )
    return EnvConfig(
        name=name,
        cloud=cloud,
        region=region,
        gcp_project=gcp_project,
        terraform_dir=terraform_dir,
        image_repository=image_repository,
        service_name=raw.get("service_name") or f"billing-{name}",
        health_path=raw.get("health_path", "/health"),
        domain_name=raw.get("domain_name", ""),
        migrations_dir=migrations_dir,
        migrations_mode=raw.get("migrations_mode", "direct"),
        secrets=secrets,
        gcp_endpoints=dict(raw.get("gcp", {}).get("endpoints", {})),
        state_dir=settings.state_dir,
        rds_ca_bundle=project_path(bundle, root) if bundle else None,
        **profile,
    )


def _default_terraform_dir(root: Path, cloud: str) -> Path:
    local = root / "terraform" / cloud
    return local if local.is_dir() else bundled_path("terraform") / cloud


def _default_migrations_dir(root: Path) -> Path:
    local = root / "migrations"
    return local if local.is_dir() else bundled_path("migrations")


def project_path(value: str, root: Path) -> Path:
    """A path from the file or the environment: `~` expanded, relative to the project root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path
