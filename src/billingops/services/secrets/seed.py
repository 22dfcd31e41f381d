"""The seeding plan: for each declared secret, what `secrets seed` would do, then doing it.

A new version is written only when the value differs from the current one. The comparison is between
SHA-256 digests held in memory; neither the values nor their digests are ever printed or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from billingops.clouds.secrets import SecretStore
from billingops.config import SecretSpec
from billingops.errors import ConfigError, UsageError
from billingops.services.secrets.sources import Provided, generate

log = logging.getLogger(__name__)

CREATE, UPDATE, ROTATE, UNCHANGED, KEPT, MISSING, TERRAFORM = (
    "create",
    "update",
    "rotate",
    "unchanged",
    "kept",
    "missing",
    "terraform",
)
WRITES = (CREATE, UPDATE, ROTATE)


@dataclass
class SecretAction:
    """What happens to one secret. `origin` says where a new value came from, never what it is."""

    name: str
    source: str
    secret_id: str  # always known: resolve_ids raises for a secret without one
    action: str
    origin: str = ""
    version: str | None = None
    changed_at: str | None = None
    new_version: str | None = None
    create_secret: bool = False


class SeedPlan:
    def __init__(self, actions: list[SecretAction], values: dict[str, str]) -> None:
        self.actions = actions
        self._values = values  # name -> new value; private, never rendered

    @property
    def writes(self) -> list[SecretAction]:
        return [a for a in self.actions if a.action in WRITES]


def resolve_ids(
    specs: Sequence[SecretSpec], from_outputs: Mapping[str, str] | None, overrides: Mapping[str, str]
) -> dict[str, str]:
    """name -> secret id: --secret-id overrides first, then terraform's `secret_ids` output."""
    declared = {s.name for s in specs}
    unknown = sorted(set(overrides) - declared)
    if unknown:
        raise UsageError(
            f"--secret-id names {', '.join(unknown)}, which this environment does not declare; "
            f"declared: {', '.join(sorted(declared))}.",
            hint="Fix the NAME in --secret-id NAME=ID.",
        )
    ids = {**dict(from_outputs or {}), **overrides}
    missing = [s.name for s in specs if s.name not in ids]
    if missing:
        raise ConfigError(
            f"No secret id is known for {', '.join(missing)}: the terraform output `secret_ids` "
            "does not name them and no --secret-id was given.",
            hint="Run `billingops deploy` up to apply so terraform creates them, or pass "
            "--secret-id NAME=ARN (AWS) / NAME=projects/P/secrets/S (GCP) for each.",
        )
    return {s.name: ids[s.name] for s in specs}


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(
                f"--secret-id {pair!r} is not NAME=ID.",
                hint="Write it as --secret-id STRIPE_API_KEY=arn:aws:secretsmanager:... .",
            )
        result[name.strip()] = value.strip()
    return result


def build_plan(
    store: SecretStore,
    specs: Sequence[SecretSpec],
    ids: Mapping[str, str],
    provided: Mapping[str, Provided],
    *,
    rotate: Sequence[str] = (),
    placeholders: bool = False,
    create_missing: bool = False,
) -> SeedPlan:
    """Decide every secret's action; raises before anything is written when an input is missing."""
    declared = {s.name: s for s in specs}
    _check_rotate(declared, rotate, provided)
    actions: list[SecretAction] = []
    values: dict[str, str] = {}
    missing_inputs: list[SecretSpec] = []
    for spec in specs:
        secret_id = ids[spec.name]
        action = SecretAction(spec.name, spec.source, secret_id, UNCHANGED)
        actions.append(action)
        if create_missing and not store.exists(secret_id):
            current = None
            if spec.source == TERRAFORM:
                action.action = MISSING
                continue
            action.create_secret = True
            if spec.name in provided:
                values[spec.name] = provided[spec.name].value
                action.origin, action.action = provided[spec.name].origin, CREATE
        elif spec.name in provided:
            current_read = store.read(secret_id)
            current = current_read[0] if current_read else None
            given = provided[spec.name]
            if spec.name in rotate or current_read is None or not _same(current_read[1], given.value):
                values[spec.name] = given.value
                action.origin = given.origin
                action.action = (
                    ROTATE if spec.name in rotate and current_read else (UPDATE if current_read else CREATE)
                )
        else:
            current = store.latest(secret_id)
        if current is not None:
            action.version, action.changed_at = current.version_id, current.changed_at
        if spec.name in provided:
            continue
        if spec.source == TERRAFORM:
            action.action = TERRAFORM if current else MISSING
        elif spec.name in rotate or (current is None and spec.generate):
            values[spec.name] = generate(spec.length)
            action.origin = "generated"
            action.action = ROTATE if current else CREATE
        elif current is not None:
            action.action = KEPT
        elif placeholders:
            values[spec.name] = generate(max(spec.length, 32))
            action.origin = "sandbox placeholder"
            action.action = CREATE
        else:
            action.action = MISSING
            if spec.required:
                missing_inputs.append(spec)
    if missing_inputs:
        names = ", ".join(s.name for s in missing_inputs)
        first = missing_inputs[0]
        raise UsageError(
            f"No value was given for the required secret(s) {names}, and they have no version yet; "
            "nothing was written.",
            hint=f"Give each value through the environment ({first.env_var}=...), a dotenv file "
            "(--file .env.secrets) or --stdin (NAME=VALUE lines), then rerun.",
        )
    return SeedPlan(actions, values)


def apply_plan(store: SecretStore, plan: SeedPlan) -> list[SecretAction]:
    from billingops.locks.heartbeat import fence_all

    for action in plan.writes:
        fence_all(f"writing secret {action.name}")  # a run that lost its deploy lock writes no version
        if action.create_secret:
            log.info("creating secret %s", action.secret_id)
            store.create(action.secret_id)
        version = store.add_version(action.secret_id, plan._values[action.name])
        action.new_version = version.version_id
        action.changed_at = version.changed_at
    return plan.actions


def _same(current: str, new: str) -> bool:
    return hmac.compare_digest(
        hashlib.sha256(current.encode()).digest(), hashlib.sha256(new.encode()).digest()
    )


def _check_rotate(
    declared: Mapping[str, SecretSpec], rotate: Sequence[str], provided: Mapping[str, Provided]
) -> None:
    for name in rotate:
        spec = declared.get(name)
        if spec is None:
            raise UsageError(
                f"--rotate {name}: no such secret is declared; declared: {', '.join(declared)}.",
                hint="Pass one of the declared names.",
            )
        if spec.source == TERRAFORM:
            raise UsageError(
                f"--rotate {name}: this secret is written by terraform, not by billingops.",
                hint="Rotate the underlying credential through terraform (see runbooks/secret-rotation.md).",
            )
        if not spec.generate and name not in provided:
            raise UsageError(
                f"--rotate {name}: {name} is an input secret and no new value was given.",
                hint=f"Give the new value through {spec.env_var}, --file or --stdin.",
            )
