"""Secret seeding: where values come from (sources), what would change (plan), and applying it (seed).

The use cases of `billingops secrets seed|list|check` are here; values never leave the store or the source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.errors import StepFailed

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.services.secrets.inventory import SecretStatus
    from billingops.services.secrets.seed import SecretAction
    from billingops.session import Session

log = logging.getLogger(__name__)


@dataclass
class SeedReport:
    env: str
    cloud: str
    dry_run: bool
    written: int
    would_write: int
    secrets: list[SecretAction]

    @property
    def writes(self) -> int:
        """Versions written, or with --dry-run that would be."""
        return self.would_write if self.dry_run else self.written


@dataclass
class SecretList:
    env: str
    cloud: str
    secrets: list[SecretStatus]


@dataclass
class SecretCheck:
    env: str
    cloud: str
    ok: bool
    secrets: list[SecretStatus]


def seed_secrets(session: Session, *, file: Path | None = None, stdin: Callable[[], str] | None = None,
                 rotate: list[str] | None = None, secret_id: list[str] | None = None, dry_run: bool = False,
                 take_lock: bool = True, lock_wait: float = 0.0) -> SeedReport:
    """Write missing or changed secret values (a version only when the value differs), under the deploy lock."""
    from billingops.locks import deploy_lock
    from billingops.services.secrets import seed as seeding
    from billingops.services.secrets.sources import collect

    env = session.env()
    stdin_text = stdin() if stdin is not None else None
    provided = collect(env.secrets, file=file, stdin_text=stdin_text)
    store, ids = store_and_ids(env, secret_id)
    audit = session.audit()
    with deploy_lock.hold(env, "secrets seed", enabled=take_lock and not dry_run, wait=lock_wait):
        plan = seeding.build_plan(store, env.secrets, ids, provided, rotate=rotate or [])
        if dry_run:
            actions = plan.actions
        else:
            names = [a.name for a in plan.writes]
            audit.record("secrets.seed.start", env=env.name, cloud=env.cloud, writes=names)
            actions = seeding.apply_plan(store, plan)
            audit.record(
                "secrets.seed.end",
                env=env.name,
                cloud=env.cloud,
                actions={a.name: a.action for a in actions},
                versions={a.name: a.new_version for a in actions if a.new_version},
            )
    written = sum(1 for a in actions if a.action in seeding.WRITES)
    return SeedReport(env=env.name, cloud=env.cloud, dry_run=dry_run, written=0 if dry_run else written,
                      would_write=written if dry_run else 0, secrets=actions)


def list_secrets(session: Session, secret_id: list[str] | None = None) -> SecretList:
    """The declared secrets with their current version and when it changed; values are never read."""
    from billingops.services.secrets.inventory import inventory

    env = session.env()
    store, ids = store_and_ids(env, secret_id)
    return SecretList(env=env.name, cloud=env.cloud, secrets=inventory(store, env.secrets, ids))


def check_secrets(session: Session, secret_id: list[str] | None = None) -> SecretCheck:
    """StepFailed (its details name every secret's status) when a required secret has no version."""
    from billingops.services.secrets.inventory import inventory, problems

    env = session.env()
    store, ids = store_and_ids(env, secret_id)
    rows = inventory(store, env.secrets, ids)
    bad = problems(rows)
    if bad:
        raise StepFailed(
            f"{len(bad)} required secret(s) of {env.name} have no version: "
            + ", ".join(f"{r.name} ({r.status})" for r in bad)
            + ".",
            hint=missing_hint(bad),
            details={"secrets": [vars(r) for r in rows]},
        )
    return SecretCheck(env=env.name, cloud=env.cloud, ok=True, secrets=rows)


def missing_hint(bad: list[Any]) -> str:
    terraform = [r.name for r in bad if r.source == "terraform"]
    seeded = [r.name for r in bad if r.source != "terraform"]
    parts = []
    if seeded:
        parts.append(
            f"seed {', '.join(seeded)} with `billingops secrets seed` (values from "
            "BILLINGOPS_SECRET_<NAME>, --file or --stdin)"
        )
    if terraform:
        parts.append(f"{', '.join(terraform)} come from terraform: run `billingops deploy` through apply")
    return "To fix: " + "; ".join(parts) + "."


def store_and_ids(env: EnvConfig, secret_id: list[str] | None) -> tuple[Any, dict[str, str]]:
    from billingops.clouds import secret_store
    from billingops.services.secrets.context import terraform_outputs
    from billingops.services.secrets.seed import parse_overrides, resolve_ids

    overrides = parse_overrides(secret_id or [])
    outputs: dict[str, Any] = {}
    if any(s.name not in overrides for s in env.secrets):
        outputs = terraform_outputs(env, "secret_ids; --secret-id NAME=ID for every secret avoids it")
    ids = resolve_ids(env.secrets, outputs.get("secret_ids"), overrides)
    return secret_store(env, outputs), ids
