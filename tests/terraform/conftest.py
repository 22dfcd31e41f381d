"""Fixtures for the bundled Terraform: the HCL parsed with python-hcl2, an environment for terraform runs."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
CLOUDS = ("aws", "gcp")
ENVS = ("prod", "staging", "dev")

_QUOTED = re.compile(r'^"(.*)"$', re.S)


def unquote(value: Any) -> Any:
    """python-hcl2 v8 keeps string literals' quotes and adds __is_block__/__comments__ keys: drop both."""
    if isinstance(value, str):
        match = _QUOTED.match(value)
        return match.group(1) if match else value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items()
                if not (k.startswith("__") and k.endswith("__"))}
    return value


def load_hcl(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return unquote(hcl2.load(handle))


class Module:
    """One Terraform module directory, parsed: its variables, outputs, module calls and raw text."""

    def __init__(self, path: Path):
        self.path = path
        self.files = {f: load_hcl(f) for f in sorted(path.glob("*.tf"))}

    def _blocks(self, kind: str) -> list[dict[str, Any]]:
        return [block for parsed in self.files.values() for block in parsed.get(kind, [])]

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self._blocks("variable") for name, body in block.items()}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self._blocks("output") for name, body in block.items()}

    @property
    def module_calls(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self._blocks("module") for name, body in block.items()}

    @property
    def text(self) -> str:
        return "\n".join(f.read_text(encoding="utf-8") for f in self.files)

    def child(self, source: str) -> Module:
        return Module((self.path / source).resolve())


def module_dirs() -> list[Path]:
    """Every directory under terraform/ that holds .tf files (roots, bootstrap roots and child modules)."""
    return sorted({p.parent for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts})


@pytest.fixture(scope="session", params=CLOUDS)
def root(request) -> Module:
    return Module(TERRAFORM / request.param)


def tfvars(cloud: str, env: str) -> dict[str, Any]:
    return load_hcl(TERRAFORM / cloud / "envs" / f"{env}.tfvars")


def terraform_env(tf_cli_config: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a terraform subprocess: no real credentials, the offline provider mirror, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "TF_"))}
    env.update({
        "TF_CLI_CONFIG_FILE": str(tf_cli_config),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        # anything not redirected explicitly fails fast instead of reaching AWS
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **(extra or {}),
    })
    return env
