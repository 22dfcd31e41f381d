"""Deploy step `rollout`: put `--image` live behind the health gate (see `billingops rollout`).

In the sandbox the AWS rollout runs for real against moto up to the service update: the image is pushed to the
emulated ECR and checked there, a task definition revision with only the image changed is registered, and the
ECS service is pointed at it. moto does not emulate deployment progress, and nothing answers health checks on
the emulated load balancer, so waiting for the deployment and the health gate are skipped, and the detail says so.
"""

from __future__ import annotations

import logging

from billingops.errors import StepFailed
from billingops.runs.checklist import Skip, StepContext

log = logging.getLogger(__name__)


def run(ctx: StepContext) -> str:
    from billingops.services.rollout import perform_rollout, step_settings

    image = ctx.image
    if ctx.sandbox is not None:
        return _sandbox(ctx, image)
    if not image:
        raise Skip("no --image given: the running image is kept")
    waiting, health = step_settings(ctx.env)
    report = perform_rollout(ctx.session, ctx.env, ctx.outputs(), image, waiting=waiting, health=health,
                             verify=False, take_lock=False)
    outcome = report.outcome
    if outcome is None:  # perform_rollout without dry_run always reports one
        raise StepFailed("The rollout reported no outcome.", hint="Check `billingops status`, then retry the step.")
    ctx.data["rollout"] = {"image": report.image, "digest": report.digest, "previous": outcome.previous,
                           "current": outcome.current, "status": outcome.status}
    ctx.save()
    return outcome.summary()


def _sandbox(ctx: StepContext, image: str | None) -> str:
    from billingops.clouds.rollout import Waiting
    from billingops.services.rollout import perform_rollout

    if ctx.env.cloud != "aws":
        ctx.skip_in_sandbox("the sandbox emulates AWS only; Cloud Run has no emulator")
    outputs = ctx.outputs()
    tag = image or ctx.sandbox.image_tag
    if tag == ctx.sandbox.image_tag and outputs.get("image_repository_url"):
        image = ctx.sandbox.push_image(str(outputs["image_repository_url"]), tag)
    report = perform_rollout(ctx.session, ctx.env, outputs, image or tag, waiting=Waiting(), health=None,
                             wait=False, verify=False, take_lock=False)
    outcome = report.outcome
    if outcome is None:  # perform_rollout without dry_run always reports one
        raise StepFailed("The rollout reported no outcome.", hint="Check `billingops status`, then retry the step.")
    ctx.data["rollout"] = {"image": report.image, "digest": report.digest, "previous": outcome.previous,
                           "current": outcome.current, "status": outcome.status}
    ctx.save()
    if outcome.status == "unchanged":
        return f"ran against moto: image {report.image} found in ECR; the service already runs it ({outcome.current})"
    return (
        f"ran against moto: image {report.image} found in ECR, task definition {outcome.current} registered "
        f"(was {outcome.previous}), service {outcome.service} updated; skipped in sandbox: waiting for the "
        "deployment (moto does not emulate ECS deployment progress) and the health gate"
    )
