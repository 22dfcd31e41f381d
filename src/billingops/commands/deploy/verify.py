"""Deploy step `verify`: GET the health endpoint through the load balancer (AWS) / service URL (Cloud Run)."""

from __future__ import annotations

import logging

from billingops.checklist import StepContext
from billingops.errors import ConfigError, StepFailed

log = logging.getLogger(__name__)


def run(ctx: StepContext) -> str:
    from billingops.clouds.health import HealthChecker

    ctx.skip_in_sandbox("no application answers the health check on the emulated load balancer")
    name = "load_balancer_url" if ctx.env.cloud == "aws" else "service_url"
    base = ctx.outputs().get(name)
    if not base:
        raise ConfigError(f"The terraform output {name!r} is missing, so the health endpoint cannot be reached.",
                          hint="Check that the apply step completed (`billingops deploy --only apply`), then "
                               "`billingops deploy --only verify`.")
    result = HealthChecker(ctx.env.health_path).check(str(base), on_attempt=lambda r: None if r.ok else
                                                      ctx.output.say(f"health {r.url}: {r.status or r.error} "
                                                                     "(retrying)"))
    ctx.data["verify"] = {"url": result.url, "status": result.status, "latency_ms": result.latency_ms,
                          "attempts": result.attempts, "ok": result.ok}
    ctx.save()
    if not result.ok:
        raise StepFailed(f"Verify failed: {result.describe()}.",
                         hint="Check the service's logs and events; `billingops rollback --env "
                              f"{ctx.env.name}` goes back to the previous image.")
    return f"{result.url} answered {result.status} in {result.latency_ms:.0f} ms"
