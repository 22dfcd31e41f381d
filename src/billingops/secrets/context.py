"""Plumbing shared by `secrets` and `db`: terraform outputs on demand, and the deploy-lock call site."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from billingops.errors import ConfigError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

log = logging.getLogger(__name__)


def terraform_outputs(env: EnvConfig, why: str) -> dict[str, Any]:
    """`terraform output -json` for env, as plain values; `why` names the flags that avoid the call."""
    try:
        from billingops.terraform import Terraform
    except ImportError:
        raise ConfigError(
            f"The terraform outputs are needed ({why}) but the terraform runner is not available "
            "in this build.",
            hint="Pass the values explicitly (see --help).",
        ) from None
    outputs = Terraform.for_env(env).outputs()
    return dict(outputs) if isinstance(outputs, Mapping) else {}


@contextlib.contextmanager
def deploy_lock(env: EnvConfig, command: str, *, enabled: bool = True) -> Iterator[None]:
    """The per-environment deploy lock (issue 8) around a standalone `secrets seed` / `db migrate`.

    The deploy checklist holds the lock itself, so its steps call the library functions, not this.
    """
    if not enabled:
        log.info("--no-lock: not taking the deploy lock for %s", command)
        yield
        return
    try:
        from billingops.locks import deploy_lock as lock_module
    except ImportError:
        log.debug("billingops.locks.deploy_lock is not available; %s runs without the deploy lock", command)
        yield
        return
    from billingops.audit import new_run_id

    # DEPLOY LOCK: the one call site for `secrets seed` and `db migrate`
    # (billingops.locks.deploy_lock.acquire).
    with lock_module.acquire(env, new_run_id(), command):
        yield
