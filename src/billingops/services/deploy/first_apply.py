"""A first apply into an empty GCP project, in phases.

The Cloud Run service mounts every secret (`version = "latest"`) and runs the image of `var.image`; Cloud Run
refuses to make a revision Ready while a mounted secret has no version or the image is not in the registry,
so an apply that creates the service together with its secrets (created empty) or its registry (created
empty) never finishes. When the plan creates the service and a secret has no version or the image is missing,
the apply step runs in phases, each recorded in the run journal (`data.first_apply.phases`):

1. `base`: everything but the service and what reads it (`-target` of every other module and root resource;
   terraform adds what they depend on). The plan step saves this plan too; the approval covers both.
2. `secrets`: the deploy's secrets step (seed the app secrets; the database and cache modules wrote theirs).
3. `image`: the image the service will run must be in Artifact Registry; when it is not, the step stops with
   what to push, and `billingops deploy --resume` plans again (the base is applied: no phases needed then).
4. `service`: plan again and apply the rest, which must be within what was approved (or it is asked again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from billingops.errors import BillingOpsError, StepFailed
from billingops.runs.checklist import StepContext

log = logging.getLogger(__name__)

SERVICE_TYPE = "google_cloud_run_v2_service"
SECRET_TYPE = "google_secret_manager_secret"  # noqa: S105  # nosec B105  # a terraform resource type, not a secret
# Held back until the secrets and the image exist: the service, and monitoring (its alerts name the service).
HELD_BACK = ("module.service", "module.monitoring")
PHASES = ("base", "secrets", "image", "service")

Applier = Callable[[Path], Any]


def assess(ctx: StepContext, changes: list[dict[str, Any]], planfile: Path) -> dict[str, Any] | None:
    """The phased apply this plan needs, or None: only on GCP, only when the plan creates the service."""
    if ctx.env.cloud != "gcp" or ctx.sandbox is not None:
        return None
    if not any(c["type"] == SERVICE_TYPE and c["action"] in ("create", "replace") for c in changes):
        return None
    reasons = _secret_reasons(ctx, changes)
    image = _planned_image(ctx, planfile)
    if image and not _image_exists(ctx, image):
        reasons.append(f"the image {image} is not in Artifact Registry yet")
    if not reasons:
        return None
    targets = sorted({_top(c["address"]) for c in changes} - set(HELD_BACK))
    return {"reasons": reasons, "targets": targets, "image": image}


def describe(staged: dict[str, Any]) -> str:
    return ("first apply in phases (" + "; ".join(staged["reasons"]) + "): 1. everything but "
            + " and ".join(HELD_BACK) + ", 2. seed the secrets, 3. check the image, 4. the service")


def apply_in_phases(ctx: StepContext, recorded: dict[str, Any], apply: Applier,
                    replan: Callable[[], Path]) -> Any:
    """Run the phases not done yet; `apply(planfile)` applies an approved plan and returns terraform's result,
    `replan()` plans the rest and returns an approved plan file (see terraform_steps)."""
    from billingops.runs import approvals
    from billingops.services.deploy import seed_secrets

    staged = recorded["first_apply"]
    state = ctx.data.setdefault("first_apply", {"phases": {}})
    phases: dict[str, str] = state["phases"]
    say = ctx.output.say

    if phases.get("base") != "ok":
        say("first apply, phase 1/4: everything but the Cloud Run service (" + ", ".join(staged["targets"]) + ")")
        if staged.get("has_changes", True):
            planfile = Path(staged["planfile"])
            approvals.require(ctx.journal, planfile)
            try:
                apply(planfile)
            finally:
                planfile.unlink(missing_ok=True)
        _done(ctx, phases, "base")
    if phases.get("secrets") != "ok":
        say("first apply, phase 2/4: seeding the secrets the service mounts")
        ctx.services.pop("outputs", None)  # the base apply created the secrets: read the outputs again
        say(f"secrets: {seed_secrets.run(ctx)}")
        _done(ctx, phases, "secrets")
    if phases.get("image") != "ok":
        image = staged.get("image")
        say(f"first apply, phase 3/4: checking that {image or 'the image'} is in Artifact Registry")
        if image and not _image_exists(ctx, image):
            raise StepFailed(
                f"The image {image} that the Cloud Run service is created with is not in Artifact Registry; "
                "everything else is applied and the secrets are seeded.",
                hint=f"Push it (`docker push {image}`, the repository is the terraform output "
                     f"image_repository_url), then `billingops deploy --env {ctx.env.name} --resume`.")
        _done(ctx, phases, "image")
    say("first apply, phase 4/4: the Cloud Run service and what reads it")
    result = apply(replan())
    _done(ctx, phases, "service")
    return result


def _done(ctx: StepContext, phases: dict[str, str], phase: str) -> None:
    phases[phase] = "ok"
    ctx.save()


def _top(address: str) -> str:
    """`module.x.a.b["k"]` -> `module.x`; a root resource `a.b["k"]` -> `a.b` (its every instance)."""
    return ".".join(address.split(".")[:2]).split("[", 1)[0]


def _secret_reasons(ctx: StepContext, changes: list[dict[str, Any]]) -> list[str]:
    created = [c["address"] for c in changes if c["type"] == SECRET_TYPE and c["action"] in ("create", "replace")]
    if created:
        return [f"{len(created)} secret(s) the service mounts are created by this apply, with no version yet"]
    try:
        secret_ids = ctx.outputs().get("secret_ids") or {}
    except BillingOpsError as err:
        log.debug("no terraform outputs to read the secrets from (%s)", err.message)
        return []
    from billingops.clouds import secret_store

    store = secret_store(ctx.env, ctx.outputs())
    empty = []
    for name, secret_id in sorted(secret_ids.items()):
        try:
            version = store.latest(secret_id)
        except BillingOpsError as err:
            log.debug("secret %s unreadable: %s", name, err.message)
            version = None
        if version is None:
            empty.append(name)
    return [f"secret(s) with no version: {', '.join(empty)}"] if empty else []


def _planned_image(ctx: StepContext, planfile: Path) -> str | None:
    """The image the plan creates the service with (`var.image`), from the saved plan."""
    plan = ctx.terraform().show_json(planfile)
    for change in plan.get("resource_changes", []):
        if change.get("type") != SERVICE_TYPE:
            continue
        after = (change.get("change") or {}).get("after") or {}
        for template in after.get("template") or []:
            for container in template.get("containers") or []:
                if container.get("image"):
                    return str(container["image"])
    return None


def _image_exists(ctx: StepContext, image: str) -> bool:
    from billingops.clouds import image_registry
    from billingops.errors import UsageError
    from billingops.imageref import parse_image

    try:
        image_registry(ctx.env, {}).require(parse_image(image, None))
    except UsageError:  # 404: no such tag (or repository) yet
        return False
    return True
