"""Deploy step `secrets`: seed the app's secrets into the secrets terraform created (values never shown).

Values come from BILLINGOPS_SECRET_<NAME>, the dotenv file named by BILLINGOPS_SECRETS_FILE, and
generation; run `billingops secrets seed --stdin` before the deploy for a piped source. In the sandbox
the secrets go to moto for real: input secrets with no value get a generated "sandbox placeholder", and
secrets missing from moto are created.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from billingops.config import tunables
from billingops.errors import StepFailed
from billingops.runs.checklist import StepContext

log = logging.getLogger(__name__)


def run(ctx: StepContext) -> str:
    from billingops.clouds import secret_store
    from billingops.services.secrets import seed as seeding
    from billingops.services.secrets.sources import collect

    env = ctx.env
    sandbox = ctx.sandbox is not None
    outputs = ctx.outputs()
    from_outputs = outputs.get("secret_ids") or {}
    if sandbox and not from_outputs:
        # the sandbox's terraform may not model the secrets module; name them as the module would
        from_outputs = {s.name: f"billing-{env.name}/{s.name}" for s in env.secrets}
    ids = seeding.resolve_ids(env.secrets, from_outputs, {})
    store = secret_store(env, outputs)
    secrets_file = tunables().secrets_file
    provided = collect(env.secrets, file=Path(secrets_file) if secrets_file else None)
    plan = seeding.build_plan(store, env.secrets, ids, provided, placeholders=sandbox, create_missing=sandbox)
    if not ctx.dry_run:
        seeding.apply_plan(store, plan)
    ctx.data["secrets"] = {a.name: a.action for a in plan.actions}
    ctx.save()
    absent = [a.name for a in plan.actions if a.action == seeding.MISSING and a.source == "terraform"]
    if absent and not sandbox:
        raise StepFailed(
            f"The terraform-managed secret(s) {', '.join(absent)} have no version after apply.",
            hint="Check the secrets module's secret_version resources in the apply output, then "
            "rerun `billingops deploy --from apply`.",
        )
    return _detail(plan.actions, ctx.dry_run, absent)


def _detail(actions: list[Any], dry_run: bool, absent: list[str]) -> str:
    from billingops.services.secrets.seed import WRITES

    written = [f"{a.name} ({a.origin or a.action})" for a in actions if a.action in WRITES]
    kept = [a.name for a in actions if a.action not in WRITES and a.action != "missing"]
    verb = "would write" if dry_run else "wrote"
    parts = [f"{verb} {len(written)}: {', '.join(written)}" if written else "no change"]
    if kept:
        parts.append(f"{len(kept)} already current")
    if absent:
        parts.append(f"no version yet (terraform-managed): {', '.join(absent)}")
    return "; ".join(parts)
