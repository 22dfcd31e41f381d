"""The billingops deploy lock: one runner per environment for deploy, rollout, migrations and seeding.

Terraform's lock covers only terraform; this one covers a whole billingops run. Use it as

    with deploy_lock.acquire(env, run_id, "deploy", wait=parse_duration(lock_wait)):
        ...  # the run

A second runner gets `Refused` (exit 4) naming the holder, or waits up to `wait` seconds. A crashed
run's lock is broken with `billingops unlock --env ENV --deploy-lock`, under the state lock's safety rules.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from billingops.config import EnvConfig
from billingops.errors import Refused
from billingops.locks.finder import resolve_target
from billingops.locks.model import HeldLock, LockChanged, format_age

log = logging.getLogger(__name__)


@dataclass
class DeployLock:
    env: str
    run_id: str
    location: str
    record: HeldLock


def record_body(env: EnvConfig, run_id: str, command: str, location: str) -> str:
    """Terraform's lock-info keys (so every reader understands it) plus the holder's pid, host and run."""
    from billingops import __version__
    from billingops.config import tunables
    from billingops.locks.heartbeat import machine_id, now_text
    from billingops.runs.audit import who

    details = {
        "run_id": run_id,
        "command": command,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "env": env.name,
        "cloud": env.cloud,
    }
    liveness = {"machine_id": machine_id(), "heartbeat": now_text(),
                "heartbeat_every": tunables().deploy_lock_heartbeat}
    return json.dumps(
        {
            "ID": run_id,
            "Operation": f"billingops {command}",
            "Who": who(),
            "Version": f"billingops {__version__}",
            "Created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "Path": location,
            "Info": json.dumps({**details, **liveness}, sort_keys=True),
            **{k.title().replace("_", ""): v for k, v in details.items()},
        },
        sort_keys=True,
    )


@contextlib.contextmanager
def acquire(
    env: EnvConfig,
    run_id: str,
    command: str,
    wait: float = 0,
    *,
    backend_overrides: list[str] | tuple[str, ...] = (),
    workspace: str | None = None,
    poll_seconds: float = 2.0,
    runs_dir: Path | None = None,
) -> Iterator[DeployLock]:
    """Hold the environment's deploy lock for the duration of the block; released (conditionally) on exit."""
    target = resolve_target(
        env,
        backend_overrides=backend_overrides,
        workspace=workspace,
        runs_dir=runs_dir,
        include_deploy_lock=False,
    )
    from billingops.locks.deploy_lock_stores import for_target

    store = for_target(target)
    body = record_body(env, run_id, command, store.location)
    deadline = time.monotonic() + max(0.0, wait)
    announced = False
    while not store.create(body):
        holder = store.read()
        if holder is None:
            continue  # released between our attempt and the read: try again at once
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _held_by(env, holder, wait)
        if not announced:
            log.warning("deploy lock on %s is held by %s; waiting up to %.0fs", env.name, _describe(holder), wait)
            announced = True
        time.sleep(min(poll_seconds, remaining))
    mine = store.read()
    if mine is None or mine.lock_id != run_id:
        raise Refused(
            f"The deploy lock on {env.name} was taken and then lost at once ({store.location}).",
            hint=f"Someone broke it; run `billingops locks --env {env.name}` before retrying.",
        )
    log.info("took the deploy lock %s for run %s", store.location, run_id)
    beat = _heartbeat(store, mine, body, env.name)
    try:
        yield DeployLock(env.name, run_id, store.location, mine)
    finally:
        beat.stop()
        mine = beat.held  # the record as last renewed: that is what the conditional delete compares
        try:
            store.delete(mine)
        except LockChanged as exc:
            log.warning("the deploy lock of run %s was no longer ours at release (%s); left as it is", run_id, exc)


def _heartbeat(store: Any, mine: HeldLock, body: str, env_name: str) -> Any:
    from billingops.config import tunables
    from billingops.locks.heartbeat import Heartbeat

    return Heartbeat(store, mine, body, tunables().deploy_lock_heartbeat, env_name).start()


@contextlib.contextmanager
def hold(env: EnvConfig, command: str, *, enabled: bool = True, wait: float = 0) -> Iterator[None]:
    """The deploy lock around a standalone command (rollout, rollback, db migrate, secrets seed) under a run id
    of its own; `enabled=False` (--no-lock, dry runs) runs without it. The deploy checklist holds the lock
    itself, so its steps call the library functions, not this."""
    if not enabled:
        log.info("not taking the deploy lock for %s", command)
        yield
        return
    from billingops.runs.audit import new_run_id

    with acquire(env, new_run_id(), command, wait=wait):
        yield


def _describe(holder: HeldLock) -> str:
    info, extra = holder.info, holder.extra
    if info is None:
        return f"an unreadable record at {holder.location} ({holder.malformed})"
    return (
        f"{info.who} (run {extra.get('run_id') or info.id}, {extra.get('command') or info.operation}, "
        f"pid {extra.get('holder_pid')} on {extra.get('holder_host')}, since {info.created}, "
        f"age {format_age(info.age_seconds())})"
    )


def _held_by(env: EnvConfig, holder: HeldLock, wait: float) -> Refused:
    waited = f" after waiting {format_age(wait)}" if wait > 0 else ""
    # --cloud too: migrate-cloud locks the target cloud's environment, which need not be the default cloud.
    where = f"--env {env.name} --cloud {env.cloud}"
    return Refused(
        f"The billingops deploy lock on {env.name} is held by {_describe(holder)}{waited}; only one deploy, "
        f"rollout, migration or secret seeding runs per environment at a time.",
        hint="Wait for that run to finish, or pass --lock-wait DURATION to wait for it; if it died, check with "
        f"`billingops locks {where}` and break it with `billingops unlock {where} --deploy-lock`.",
        details={"deploy_lock": holder.to_dict()},
    )
