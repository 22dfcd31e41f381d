"""Loading billingops.toml into Settings: TOML read, every key and type checked against the schema (the bad
key is named), the project table resolved; environments are resolved on demand by Settings.env()."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billingops.config.discovery import find_config
from billingops.config.environments import (
    CLOUDS,
    CONFIG_FILENAME,
    ENVIRONMENTS,
    GCP_API_NAMES,
    MIGRATION_MODES,
    SECRET_SOURCES,
    EnvConfig,
    project_path,
    resolve_env,
)
from billingops.errors import ConfigError, UsageError


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
        return resolve_env(self, name, cloud)


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

    state_dir = project_path(os.environ.get("BILLINGOPS_STATE_DIR") or project.get("state_dir", ".billingops"), root)
    audit_env = os.environ.get("BILLINGOPS_AUDIT_LOG") or project.get("audit_log")
    audit_log = project_path(audit_env, root) if audit_env else state_dir / "audit.jsonl"
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
