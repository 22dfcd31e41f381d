"""Configuration: environments (prod/staging/dev) x clouds (aws/gcp).

Precedence: command-line flags > environment variables > billingops.toml > defaults. The file is found
through --config, then BILLINGOPS_CONFIG, then by walking up from the working directory. Everything is
resolved once into frozen dataclasses that the commands receive.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billingops.config.knobs import (
    DURATION_FORMS,
    SECRET_ENV_PREFIX,
    Tunables,
    environ_secret,
    parse_duration,
    parse_number,
    tunables,
)
from billingops.errors import ConfigError, UsageError
from billingops.resources import bundled_path

# The knobs and the one duration/number syntax live in config/knobs.py; callers import them from here.
__all__ = ["DURATION_FORMS", "SECRET_ENV_PREFIX", "Tunables", "environ_secret", "parse_duration", "parse_number",
           "tunables"]

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


@dataclass(frozen=True)
class Settings:
    """The whole configuration file, resolved against defaults and the environment."""

    config_path: Path | None
    project_root: Path
    state_dir: Path
    audit_log: Path
    raw_envs: Mapping[str, Mapping[str, Any]]
    default_env: str | None

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"

    def env(self, name: str | None, cloud: str | None = None) -> EnvConfig:
        name = name or self.default_env
        if not name:  # a usage error in every command that needs an environment (issue 16)
            raise UsageError(
                "No environment given.",
                hint="Pass --env prod|staging|dev or set BILLINGOPS_ENV.",
            )
        if name not in ENVIRONMENTS:
            raise UsageError(
                f"Unknown environment {name!r}: accepted values are {', '.join(ENVIRONMENTS)}.",
                hint="Pass --env with one of them (or set BILLINGOPS_ENV).",
            )
        return _resolve_env(self, name, cloud)


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    if explicit is None and os.environ.get("BILLINGOPS_CONFIG"):
        explicit = Path(os.environ["BILLINGOPS_CONFIG"])
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(
                f"Configuration file {explicit} does not exist.",
                hint="Check --config / BILLINGOPS_CONFIG, or drop it to use billingops.toml in the project.",
            )
        return explicit
    here = (cwd or Path.cwd()).resolve()
    home = Path.home().resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            _refuse_writable_by_others(candidate)
            return candidate
        # The search stops at the repository root or the home folder: a billingops.toml above them belongs
        # to someone else (a shared /tmp, another checkout) and must not steer a deploy.
        if (folder / ".git").exists() or folder == home:
            break
    return None


def _refuse_writable_by_others(path: Path) -> None:
    import stat

    mode = path.stat().st_mode
    if mode & (stat.S_IWOTH | stat.S_IWGRP) and not mode & stat.S_ISVTX:
        raise ConfigError(
            f"{path} can be changed by other users (mode {stat.filemode(mode)}), so billingops will not use it: "
            "whoever can write it decides where deploys go.",
            hint=f"Run `chmod go-w {path}`, or pass --config with a file only you can write.",
        )


def load_settings(config: Path | None = None, cwd: Path | None = None) -> Settings:
    path = find_config(config, cwd)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{path} is not valid TOML: {exc}.",
                hint="Fix the syntax at the line shown (see the configuration reference in the README).",
            ) from None
        except OSError as exc:
            raise ConfigError(f"Cannot read {path}: {exc.strerror}.", hint="Check the file's permissions.") from None
    where = str(path) if path else CONFIG_FILENAME
    _check_keys(data, {"project", "environments"}, where, "")
    project = _table(data.get("project", {}), where, "project")
    _check_keys(project, {"default_env", "state_dir", "audit_log"}, where, "project.")
    root = path.parent.resolve() if path else (cwd or Path.cwd()).resolve()

    state_dir = _path(os.environ.get("BILLINGOPS_STATE_DIR") or project.get("state_dir", ".billingops"), root)
    audit_env = os.environ.get("BILLINGOPS_AUDIT_LOG") or project.get("audit_log")
    audit_log = _path(audit_env, root) if audit_env else state_dir / "audit.jsonl"
    default_env = project.get("default_env")
    if default_env is not None and default_env not in ENVIRONMENTS:
        raise ConfigError(
            f"{where}: project.default_env = {default_env!r} is not an environment; "
            f"accepted values are {', '.join(ENVIRONMENTS)}.",
            hint="Fix the value in the file.",
        )
    envs = _table(data.get("environments", {}), where, "environments")
    for env_name, env_table in envs.items():
        if env_name not in ENVIRONMENTS:
            raise ConfigError(
                f"{where}: unknown environment [environments.{env_name}]; "
                f"accepted values are {', '.join(ENVIRONMENTS)}.",
                hint="Rename or remove that table.",
            )
        _validate_env_table(_table(env_table, where, f"environments.{env_name}"), where, env_name)
    return Settings(
        config_path=path,
        project_root=root,
        state_dir=state_dir,
        audit_log=audit_log,
        raw_envs=envs,
        default_env=default_env,
    )


_ENV_KEYS = {
    "cloud": str, "terraform_dir": str, "image_repository": str, "service_name": str, "health_path": str,
    "domain_name": str, "migrations_dir": str, "migrations_mode": str, "multi_az": bool,
    "backup_retention_days": int, "deletion_protection": bool, "min_capacity": int, "max_capacity": int,
    "aws": dict, "gcp": dict, "secrets": list,
}
_AWS_KEYS = {"region": str, "terraform_dir": str, "image_repository": str, "rds_ca_bundle": str}
_GCP_KEYS = {"project": str, "region": str, "terraform_dir": str, "image_repository": str, "endpoints": dict}
_SECRET_KEYS = {"name": str, "source": str, "generate": bool, "length": int, "required": bool}


def _validate_env_table(table: Mapping[str, Any], where: str, env: str) -> None:
    prefix = f"environments.{env}."
    _check_types(table, _ENV_KEYS, where, prefix)
    if "cloud" in table:
        _check_choice(table["cloud"], CLOUDS, where, prefix + "cloud")
    if "migrations_mode" in table:
        _check_choice(table["migrations_mode"], MIGRATION_MODES, where, prefix + "migrations_mode")
    _check_types(table.get("aws", {}), _AWS_KEYS, where, prefix + "aws.")
    gcp = table.get("gcp", {})
    _check_types(gcp, _GCP_KEYS, where, prefix + "gcp.")
    for api, url in gcp.get("endpoints", {}).items():
        key = f"{prefix}gcp.endpoints.{api}"
        _check_choice(api, GCP_API_NAMES, where, key, what="API name")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{where}: {key} = {url!r} is not a URL; accepted values look like https://HOST[:PORT].",
                hint="Fix the value in the file (tests use http://127.0.0.1:PORT).",
            )
    for index, secret in enumerate(table.get("secrets", [])):
        key = f"{prefix}secrets[{index}]"
        if not isinstance(secret, dict):
            raise ConfigError(f"{where}: {key} must be a table with name, source, ...", hint="See the README.")
        _check_types(secret, _SECRET_KEYS, where, key + ".")
        if "name" not in secret:
            raise ConfigError(f"{where}: {key} has no name.", hint="Add name = \"SECRET_NAME\".")
        if "source" in secret:
            _check_choice(secret["source"], SECRET_SOURCES, where, key + ".source")
    low, high = table.get("min_capacity"), table.get("max_capacity")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise ConfigError(
            f"{where}: {prefix}min_capacity ({low}) is greater than {prefix}max_capacity ({high}).",
            hint="Make min_capacity <= max_capacity.",
        )


def _resolve_env(settings: Settings, name: str, cloud_flag: str | None) -> EnvConfig:
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
    terraform_dir = _path(tf_dir_value, root) if tf_dir_value else _default_terraform_dir(root, cloud)
    default_region = "us-east-1" if cloud == "aws" else "us-central1"
    region = os.environ.get("BILLINGOPS_REGION") or per_cloud.get("region") or default_region
    gcp_project = os.environ.get("BILLINGOPS_GCP_PROJECT") or raw.get("gcp", {}).get("project")
    image_repository = (os.environ.get("BILLINGOPS_IMAGE_REPOSITORY") or per_cloud.get("image_repository")
                        or raw.get("image_repository") or "")
    migrations_value = raw.get("migrations_dir")
    migrations_dir = _path(migrations_value, root) if migrations_value else _default_migrations_dir(root)
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
        rds_ca_bundle=_path(bundle, root) if bundle else None,
        **profile,
    )


def _default_terraform_dir(root: Path, cloud: str) -> Path:
    local = root / "terraform" / cloud
    return local if local.is_dir() else bundled_path("terraform") / cloud


def _default_migrations_dir(root: Path) -> Path:
    local = root / "migrations"
    return local if local.is_dir() else bundled_path("migrations")


def _path(value: str, root: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def _table(value: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table, got {type(value).__name__}.", hint="See the README.")
    return value


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {prefix}{key}; accepted keys are {', '.join(sorted(allowed))}.",
                hint="Remove or rename it (see the configuration reference in the README).",
            )


def _check_types(table: Mapping[str, Any], schema: Mapping[str, type], where: str, prefix: str) -> None:
    _check_keys(table, set(schema), where, prefix)
    for key, expected in schema.items():
        if key not in table:
            continue
        value = table[key]
        # bool is an int subclass in Python; a `true` where a number belongs is still a mistake.
        wrong = not isinstance(value, expected) or (expected is int and isinstance(value, bool))
        if wrong:
            raise ConfigError(
                f"{where}: {prefix}{key} = {value!r} has the wrong type; expected {_type_name(expected)}.",
                hint="Fix the value in the file.",
            )
        if expected is int and value < 0:
            raise ConfigError(f"{where}: {prefix}{key} = {value} must not be negative.", hint="Fix the value.")


def _check_choice(value: Any, choices: tuple[str, ...], where: str, key: str, what: str = "value") -> None:
    if value not in choices:
        raise ConfigError(
            f"{where}: {key} = {value!r} is not a known {what}; accepted values are {', '.join(choices)}.",
            hint="Fix the value in the file.",
        )


def _type_name(kind: type) -> str:
    return {str: "a string", bool: "true or false", int: "a whole number", dict: "a table", list: "a list"}[kind]
