"""Deploy step `verify`: GET the health endpoint through the load balancer (AWS) / service URL (Cloud Run)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from billingops.errors import ConfigError, StepFailed
from billingops.runs.checklist import StepContext

if TYPE_CHECKING:
    from billingops.clouds.health import HealthResult

log = logging.getLogger(__name__)


def run(ctx: StepContext) -> str:
    from billingops.services.rollout import step_settings

    ctx.skip_in_sandbox("no application answers the health check on the emulated load balancer")
    from billingops.clouds import HEALTH_URL_OUTPUT

    name = HEALTH_URL_OUTPUT[ctx.env.cloud]
    base = ctx.outputs().get(name)
    if not base:
        raise ConfigError(
            f"The terraform output {name!r} is missing, so the health endpoint cannot be reached.",
            hint="Check that the apply step completed (`billingops deploy --only apply`), then "
            "`billingops deploy --only verify`.",
        )
    _, health = step_settings(ctx.env)
    result = health.check(str(base), on_attempt=lambda r: _report(ctx, r))
    ctx.data["verify"] = {"url": result.url, "status": result.status, "latency_ms": result.latency_ms,
                          "attempts": result.attempts, "ok": result.ok}
    ctx.save()
    if not result.ok:
        raise StepFailed(f"Verify failed: {result.describe()}.",
                         hint="Check the service's logs and events; `billingops rollback --env "
                              f"{ctx.env.name}` goes back to the previous image.")
    return f"{result.url} answered {result.status} in {result.latency_ms:.0f} ms"


def _report(ctx: StepContext, attempt: HealthResult) -> None:
    if not attempt.ok:
        ctx.output.say(f"health {attempt.url}: {attempt.status or attempt.error} (retrying)")
