"""The environment's backend configuration, merged exactly as `terraform init` merges it.

Terraform takes the `backend "<type>" {}` block in the root module, then each `-backend-config` in order
(a file, or KEY=VALUE), later values replacing earlier ones attribute by attribute. billingops reads the
same sources: the block in `<terraform_dir>/*.tf`, the environment's `envs/<env>.backend.hcl`, then the
`--backend-config` overrides the engineer passes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billingops.config import EnvConfig
from billingops.errors import ConfigError
from billingops.terraform import hcl

log = logging.getLogger(__name__)

SUPPORTED = ("s3", "gcs", "local")
DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class BackendConfig:
    type: str
    settings: dict[str, Any]
    sources: tuple[str, ...] = field(default_factory=tuple)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.settings.get(key)
        return default if value is None or value == "" else value


def load_backend_config(env: EnvConfig, overrides: list[str] | tuple[str, ...] = ()) -> BackendConfig:
    tf_dir = env.terraform_dir
    if not tf_dir.is_dir():
        raise ConfigError(
            f"The terraform directory {tf_dir} of environment {env.name} does not exist.",
            hint="Fix terraform_dir in billingops.toml (or BILLINGOPS_TERRAFORM_DIR).",
        )
    kind, settings, sources = _backend_block(tf_dir)
    backend_file = env.backend_config_path
    if backend_file.is_file():
        settings.update(hcl.load_file(backend_file))
        sources.append(str(backend_file))
    for item in overrides:
        settings.update(_parse_override(item, tf_dir))
        sources.append(f"--backend-config {item.split('=', 1)[0]}=..." if "=" in item else f"--backend-config {item}")
    if kind not in SUPPORTED:
        raise ConfigError(
            f"{tf_dir} uses the {kind!r} terraform backend; billingops finds locks on {', '.join(SUPPORTED)}.",
            hint="Use `terraform force-unlock` for this backend, or move the state to S3 or GCS.",
        )
    return BackendConfig(kind, settings, tuple(sources))


def current_workspace(env: EnvConfig, explicit: str | None = None) -> str:
    """--workspace, else TF_WORKSPACE, else the one `terraform workspace select` recorded (in billingops's own
    terraform data dir first, then the module's), else default."""
    if explicit:
        return explicit
    if os.environ.get("TF_WORKSPACE"):
        return os.environ["TF_WORKSPACE"]
    data_dir = Path(os.environ.get("TF_DATA_DIR") or ".terraform")
    candidates = [data_dir if data_dir.is_absolute() else env.terraform_dir / data_dir]
    state_dir = getattr(env, "state_dir", None)
    if state_dir is not None:
        candidates.insert(0, Path(state_dir) / "terraform" / f"{env.cloud}-{env.name}")
    for folder in candidates:
        try:
            name = (folder / "environment").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if name:
            return name
    return DEFAULT_WORKSPACE


def _backend_block(tf_dir: Path) -> tuple[str, dict[str, Any], list[str]]:
    """The `terraform { backend "x" { ... } }` block of the root module; none means the local backend."""
    for path in sorted(tf_dir.glob("*.tf")):
        for block in hcl.terraform_blocks(path):
            for backend in block.get("backend", []) or []:
                for name, body in backend.items():
                    return name, dict(body or {}), [str(path)]
    return "local", {}, []


def _parse_override(item: str, tf_dir: Path) -> dict[str, Any]:
    if "=" not in item:
        path = Path(item).expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        if not path.is_file():
            raise ConfigError(
                f"--backend-config {item!r} is neither KEY=VALUE nor an existing file.",
                hint="Pass --backend-config key=value (for example key=dev/terraform.tfstate) "
                "or the path of a backend config file.",
            )
        return hcl.load_file(path)
    key, _, value = item.partition("=")
    key = key.strip()
    if not key or not key.replace("_", "").isalnum():
        raise ConfigError(
            f"--backend-config {item!r} has no valid key before '='.",
            hint="Pass --backend-config key=value, for example bucket=my-state-bucket.",
        )
    return {key: _override_value(key, value.strip())}


def _override_value(key: str, value: str) -> Any:
    """Terraform types KEY=VALUE by the attribute's schema; strings stay strings, maps/bools are parsed."""
    if value in ("true", "false"):
        return value == "true"
    if value.startswith(("{", "[")):
        try:
            return hcl.loads(f"{key} = {value}\n")[key]
        except ConfigError:  # not HCL after all: keep the literal text, as terraform would
            return value
    return value.strip('"')
