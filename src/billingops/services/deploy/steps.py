"""The deployment checklist, in order. Steps after `apply` live in their own modules (one per step)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from billingops.errors import StepFailed
from billingops.runs.checklist import Step, StepContext
from billingops.services.deploy import terraform_steps


def _lazy(module: str) -> Callable[[StepContext], str | None]:
    """Import a step module only when its step runs: keeps cloud SDKs out of `billingops --help`."""

    def run(ctx: StepContext) -> str | None:
        try:
            mod = importlib.import_module(f"billingops.services.deploy.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"billingops.services.deploy.{module}":
                raise
            raise StepFailed(f"The {module} step is not implemented yet.",
                             hint="Run the steps before it with --from/--only, and this one by hand.") from None
        detail: str | None = mod.run(ctx)
        return detail

    return run


STEPS: tuple[Step, ...] = (
    Step("preflight", "Preflight checks", terraform_steps.preflight),
    Step("init", "terraform init", terraform_steps.init),
    Step("plan", "terraform plan", terraform_steps.plan),
    Step("approval", "Approval gate", terraform_steps.approval),
    Step("apply", "terraform apply (the saved plan)", terraform_steps.apply),
    Step("secrets", "Seed secrets", _lazy("seed_secrets")),
    Step("migrate", "Database migrations", _lazy("migrate_db")),
    Step("rollout", "Roll out the app image", _lazy("rollout_image")),
    Step("verify", "Post-deploy verification", _lazy("verify")),
)
STEP_NAMES = tuple(s.name for s in STEPS)
