"""What `secrets list` and `secrets check` report: each declared secret's current version, or why not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billingops.clouds.secrets import SecretNotFound, SecretStore
from billingops.config import SecretSpec

if TYPE_CHECKING:
    from billingops.config import EnvConfig

OK, MISSING, ABSENT = "ok", "missing", "no such secret"


@dataclass
class SecretStatus:
    name: str
    source: str
    required: bool
    secret_id: str
    status: str
    version: str | None = None
    changed_at: str | None = None


def inventory(store: SecretStore, specs: Sequence[SecretSpec], ids: Mapping[str, str]) -> list[SecretStatus]:
    rows: list[SecretStatus] = []
    for spec in specs:
        secret_id = ids[spec.name]
        row = SecretStatus(spec.name, spec.source, spec.required, secret_id, MISSING)
        try:
            latest = store.latest(secret_id)
        except SecretNotFound:
            row.status = ABSENT
            rows.append(row)
            continue
        if latest is not None:
            row.status, row.version, row.changed_at = OK, latest.version_id, latest.changed_at
        rows.append(row)
    return rows


def problems(rows: Sequence[SecretStatus]) -> list[SecretStatus]:
    """Required secrets that have no version (or do not exist at all)."""
    return [r for r in rows if r.required and r.status != OK]


def preflight_problems(
    env: EnvConfig, outputs: Mapping[str, Any], store: SecretStore | None = None
) -> list[str]:
    """For the deploy preflight: required secrets that will still have no version after the secrets step.

    A secret is fine if it has a version, may be generated, is written by terraform (apply comes later), or
    has a value waiting in BILLINGOPS_SECRET_<NAME>. Before the first apply (no `secret_ids` output yet)
    nothing can be checked and the list is empty.
    """
    import os

    ids = dict(outputs.get("secret_ids") or {})
    if not ids:
        return []
    if store is None:
        from billingops.clouds import secret_store

        store = secret_store(env, outputs)
    checkable = [
        s
        for s in env.secrets
        if s.required
        and s.source == "input"
        and not s.generate
        and s.name in ids
        and not os.environ.get(s.env_var)
    ]
    rows = inventory(store, checkable, ids)
    return [f"{r.name} ({r.status})" for r in problems(rows)]
