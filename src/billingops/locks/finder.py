"""Find the locks held on an environment's state, on whichever stores its backend uses, with liveness."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billingops.config import EnvConfig
from billingops.locks.backend_config import BackendConfig, current_workspace, load_backend_config
from billingops.locks.liveness import StateId, judge, state_identity, terraform_processes
from billingops.locks.model import HeldLock

log = logging.getLogger(__name__)


@dataclass
class LockTarget:
    """One environment's state (one workspace) and the stores where terraform locks it."""

    env: EnvConfig
    config: BackendConfig
    workspace: str
    stores: list[Any]
    identity: StateId
    runs_dir: Path | None

    def read(self) -> list[HeldLock]:
        """Every lock record currently held, each judged for liveness."""
        held = [lock for store in self.stores if (lock := store.read()) is not None]
        if held:
            processes = terraform_processes()
            for lock in held:
                lock.liveness = judge(lock, self.identity, self.runs_dir or Path("/nonexistent"), processes=processes)
        return held

    def store_for(self, lock: HeldLock) -> Any:
        return next(store for store in self.stores if store.location == lock.location)

    def describe(self) -> str:
        locations = ", ".join(store.location for store in self.stores) or "no lock store"
        return f"{self.config.type} backend, workspace {self.workspace} ({locations})"


def resolve_target(
    env: EnvConfig,
    *,
    backend_overrides: list[str] | tuple[str, ...] = (),
    workspace: str | None = None,
    runs_dir: Path | None = None,
    include_deploy_lock: bool = True,
) -> LockTarget:
    config = load_backend_config(env, backend_overrides)
    ws = current_workspace(env, workspace)
    target = LockTarget(
        env=env,
        config=config,
        workspace=ws,
        stores=_stores(env, config, ws),
        identity=state_identity(config.type, config.settings, ws, env.terraform_dir),
        runs_dir=runs_dir,
    )
    if include_deploy_lock:
        from billingops.locks.deploy_lock_stores import for_target

        target.stores.append(for_target(target))
    return target


def find_locks(
    env: EnvConfig,
    *,
    backend_overrides: list[str] | tuple[str, ...] = (),
    workspace: str | None = None,
    runs_dir: Path | None = None,
) -> list[HeldLock]:
    """The locks held on `env`'s state right now ([] when none), terraform's and the billingops deploy lock
    (HeldLock.extra["kind"] == "deploy"). Raises CloudError if a store is unreachable."""
    if runs_dir is None:
        runs_dir = _default_runs_dir()
    return resolve_target(env, backend_overrides=backend_overrides, workspace=workspace, runs_dir=runs_dir).read()


def _stores(env: EnvConfig, config: BackendConfig, workspace: str) -> list[Any]:
    if config.type == "s3":
        from billingops.locks.s3_dynamodb import DynamoDBLockStore
        from billingops.locks.s3_lockfile import S3LockfileStore

        stores: list[Any] = []
        if config.get("dynamodb_table"):
            stores.append(DynamoDBLockStore(env.name, config, workspace, env.region))
        if config.get("use_lockfile") is True:
            stores.append(S3LockfileStore(env.name, config, workspace, env.region))
        if not stores:
            log.warning(
                "the S3 backend of %s has neither dynamodb_table nor use_lockfile: terraform does not lock this state",
                env.name,
            )
        return stores
    if config.type == "gcs":
        from billingops.locks.gcs import GcsLockStore

        return [GcsLockStore(env.name, config, workspace, env.gcp_project)]
    from billingops.locks.local import LocalLockStore

    return [LocalLockStore(env.name, config, workspace, env.terraform_dir)]


def _default_runs_dir() -> Path | None:
    from billingops.config import load_settings
    from billingops.errors import ConfigError

    try:
        return load_settings().runs_dir
    except ConfigError:
        return None
