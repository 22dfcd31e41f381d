"""Plumbing shared by `secrets` and `db`: terraform outputs on demand, and the deploy-lock call site."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from billingops.errors import ConfigError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

log = logging.getLogger(__name__)


def terraform_outputs(env: EnvConfig, why: str) -> dict[str, Any]:
    """`terraform output -json` for env, as plain values; `why` names the flags that avoid the call."""
    try:
        from billingops.terraform.runner import Terraform
    except ImportError:
        raise ConfigError(
            f"The terraform outputs are needed ({why}) but the terraform runner is not available "
            "in this build.",
            hint="Pass the values explicitly (see --help).",
        ) from None
    outputs = Terraform.for_env(env).outputs()
    return dict(outputs) if isinstance(outputs, Mapping) else {}


