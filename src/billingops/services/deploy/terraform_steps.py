"""Deploy steps up to and including `apply`: preflight, init, plan, approval, apply."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from billingops.errors import ApprovalRequired, Refused, StepFailed, TerraformError
from billingops.locks.heartbeat import fence_all
from billingops.runs.checklist import Skip, StepContext
from billingops.services.deploy import first_apply
from billingops.terraform.messages import describe_event
from billingops.terraform.plan_summary import PlanSummary, describe_safety, summarize

log = logging.getLogger(__name__)


def preflight(ctx: StepContext) -> str:
    from billingops.services.deploy.preflight import run_checks

    checks = run_checks(ctx.env, ctx.session.settings, image=None if ctx.sandbox else ctx.image,
                        sandbox=ctx.sandbox, outputs=ctx.outputs, own_run_id=ctx.journal.run_id)
    for check in checks:
        if check.status != "ok":
            ctx.output.say(f"preflight {check.status}: {check.name}: {check.detail}",
                           "warn" if check.status == "warn" else "error")
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        raise StepFailed(
            "Preflight failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed) + ".",
            hint="Fix: " + " ".join(c.fix for c in failed if c.fix) + " (`billingops doctor` shows every check).",
        )
    warned = sum(1 for c in checks if c.status == "warn")
    return f"{len(checks)} checks, {warned} warning(s)"


def init(ctx: StepContext) -> str:
    tf = ctx.terraform()
    version = tf.check_version()
    tf.init(reconfigure=True)
    return f"terraform {'.'.join(map(str, version))} initialised ({tf.workdir.name})"


def plan(ctx: StepContext) -> str:
    tf = ctx.terraform()
    planfile = tf.data_dir / "plans" / f"{ctx.journal.run_id}.tfplan"
    result = tf.plan(planfile, on_event=_event_printer(ctx, verbose_only=True), need_plan_json=False)
    _private(planfile)
    ctx.data["plan"] = {"planfile": str(planfile), "has_changes": result.has_changes,
                        "summary": result.summary.to_dict()}
    staged = _stage_first_apply(ctx, tf, planfile) if result.has_changes else None
    ctx.save()
    if not result.has_changes:
        return "no changes"
    return result.summary.headline() + (f"; {first_apply.describe(staged)}" if staged else "")


def _stage_first_apply(ctx: StepContext, tf: Any, planfile: Path) -> dict[str, Any] | None:
    """GCP, plan creating the Cloud Run service before its secrets have versions or its image exists: save
    the plan of the first phase too (everything but the service), approved with the full plan."""
    ctx.data.pop("first_apply", None)  # a new plan starts its phases afresh
    staged = first_apply.assess(ctx, ctx.data["plan"]["summary"]["changes"], planfile)
    if staged is None:
        return None
    base = planfile.with_name(f"{planfile.stem}-base.tfplan")
    result = tf.plan(base, on_event=_event_printer(ctx, verbose_only=True), need_plan_json=False,
                     targets=staged["targets"])
    _private(base)
    staged.update(planfile=str(base), has_changes=result.has_changes, headline=result.summary.headline())
    ctx.data["plan"]["first_apply"] = staged
    return staged


def approval(ctx: StepContext) -> str:
    """Ask for approval of the saved plan and record the answer, bound to the plan file's SHA-256."""
    from billingops.runs import approvals

    recorded = ctx.data.get("plan")
    if not recorded:
        raise StepFailed("There is no plan to approve in this run.", hint="Run the plan step (--from plan).")
    if not recorded["has_changes"]:
        raise Skip("no changes to approve")
    planfile = Path(recorded["planfile"])
    if not planfile.is_file():
        ctx.output.say("The saved plan is gone (a refused or failed approval deletes it): planning again.", "warn")
        plan(ctx)
        recorded = ctx.data["plan"]
        planfile = Path(recorded["planfile"])
        if not recorded["has_changes"]:
            raise Skip("no changes to approve (planned again)")
    staged = recorded.get("first_apply")
    base = [Path(staged["planfile"])] if staged and staged.get("has_changes") else []
    try:
        detail, how = _ask(ctx, recorded)
    except BaseException:
        approvals.record(ctx.journal, planfile, how=_how(ctx), outcome=approvals.REFUSED)
        for refused in (planfile, *base):
            refused.unlink(missing_ok=True)  # a refused plan can never be applied later
        raise
    for phase_plan in base:  # the first phase of the same plan, approved with it
        approvals.record(ctx.journal, phase_plan, how=how, outcome=approvals.PASSED)
    entry = approvals.record(ctx.journal, planfile, how=how, outcome=approvals.PASSED)
    ctx.session.audit().record("deploy.approval", run_id=ctx.journal.run_id, env=ctx.env.name,
                               cloud=ctx.env.cloud, how=how, plan_sha256=entry["plan_sha256"])
    return detail


def _how(ctx: StepContext) -> str:
    if ctx.session.yes:
        return "--yes --allow-destroy" if ctx.allow_destroy else "--yes"
    return "interactive"


def _ask(ctx: StepContext, recorded: dict[str, Any]) -> tuple[str, str]:
    summary = _summary_of(recorded)
    _show_plan(ctx, summary)
    if recorded.get("first_apply"):
        staged = recorded["first_apply"]
        ctx.output.say(f"{first_apply.describe(staged)}; phase 1 plan: {staged['headline']}", "warn")
    dangerous = summary.dangerous
    env = ctx.env
    if dangerous:
        names = ", ".join(f"{c.address} ({c.action}; {describe_safety(c.safety)})" for c in dangerous)
        if ctx.session.yes:
            if not ctx.allow_destroy:
                raise ApprovalRequired(
                    f"The plan destroys or replaces stateful resources: {names}; --yes alone does not approve that.",
                    hint="Review the plan; to approve it anyway pass --yes --allow-destroy, or run interactively.",
                )
            return (f"approved with --yes --allow-destroy ({len(dangerous)} stateful change(s))",
                    "--yes --allow-destroy")
        if env.is_prod:
            question = (f"The plan destroys or replaces stateful resources in {env.name}: {names}. "
                        "This can lose data.")
            if not ctx.output.confirm_typed(question, env.name, flag="--yes --allow-destroy"):
                raise Refused("The plan was not approved (the environment name was not typed).",
                              hint="Nothing was applied. Review the plan and run the deploy again.")
            return "approved by typing the environment name", "typed"
    if ctx.output.confirm(f"Apply these changes to {env.name} ({env.cloud})?", flag="--yes"):
        return "approved" + (" with --yes" if ctx.session.yes else " interactively"), _how(ctx)
    raise Refused("The plan was not approved.", hint="Nothing was applied. Run the deploy again when ready.")


def apply(ctx: StepContext) -> str:
    from billingops.runs import approvals

    recorded = ctx.data.get("plan")
    if not recorded:
        raise StepFailed("There is no saved plan in this run to apply.", hint="Run the plan step (--from plan).")
    if not recorded["has_changes"]:
        raise Skip("no changes to apply")
    # Only the plan approved in this run (or the run resumed) is applied: checked before terraform runs.
    approvals.require(ctx.journal, Path(recorded["planfile"]))
    tf = ctx.terraform()
    fence_all("terraform apply")
    if recorded.get("first_apply"):
        return _apply_first(ctx, tf, recorded)
    # Resuming after a failed apply: the saved plan is stale; --resume re-plans (see services/deploy).
    try:
        result = tf.apply(Path(recorded["planfile"]), on_event=_event_printer(ctx))
    except TerraformError as exc:
        if "Saved plan is stale" not in exc.message:
            raise
        result = _replan_and_apply(ctx, tf)
    finally:
        Path(recorded["planfile"]).unlink(missing_ok=True)  # it holds secrets in clear; never applied twice
    ctx.services.pop("outputs", None)
    if ctx.sandbox is not None:
        _after_sandbox_apply(ctx, result.outputs)
    changes = result.summary
    return (f"{changes.get('add', 0)} added, {changes.get('change', 0)} changed, "
            f"{changes.get('remove', 0)} destroyed")


def _apply_first(ctx: StepContext, tf: Any, recorded: dict[str, Any]) -> str:
    """The phased first apply (first_apply.py). The full plan is not applied: the first phase makes it stale."""
    Path(recorded["planfile"]).unlink(missing_ok=True)

    def apply_file(planfile: Path) -> Any:
        try:
            return tf.apply(planfile, on_event=_event_printer(ctx))
        finally:
            planfile.unlink(missing_ok=True)

    result = first_apply.apply_in_phases(ctx, recorded, apply_file, lambda: _plan_rest(ctx, tf, recorded))
    ctx.services.pop("outputs", None)
    changes = result.summary
    return (f"first apply in phases done; last phase: {changes.get('add', 0)} added, "
            f"{changes.get('change', 0)} changed, {changes.get('remove', 0)} destroyed")


def _plan_rest(ctx: StepContext, tf: Any, recorded: dict[str, Any]) -> Path:
    """Plan what is left after the first phases. Within the approved full plan (same addresses and actions) it
    counts as approved; anything else is shown and asked again."""
    from billingops.runs import approvals

    planfile: Path = tf.data_dir / "plans" / f"{ctx.journal.run_id}-rest.tfplan"
    result = tf.plan(planfile, on_event=_event_printer(ctx, verbose_only=True), need_plan_json=False)
    _private(planfile)
    approved = {(c["address"], c["action"]) for c in recorded["summary"]["changes"]}
    rest = {(c.address, c.action) for c in result.summary.changes}
    if rest <= approved:
        approvals.record(ctx.journal, planfile, how="within the approved plan of this run",
                         outcome=approvals.PASSED)
    else:
        ctx.output.say("The last phase plans changes the approved plan did not show: "
                       + ", ".join(sorted(a for a, _ in rest - approved)) + "; asking again.", "warn")
        ctx.data["plan"] = {"planfile": str(planfile), "has_changes": result.has_changes,
                            "summary": result.summary.to_dict()}
        approval(ctx)
    approvals.require(ctx.journal, planfile)
    return planfile


def _replan_and_apply(ctx: StepContext, tf: Any) -> Any:
    """terraform found the saved plan stale (the state changed since): plan again, ask again, apply that."""
    from billingops.runs import approvals

    ctx.output.say("terraform: the saved plan is stale (the state changed since it was made): planning again "
                   "and asking for approval again.", "warn")
    plan(ctx)
    approval(ctx)
    planfile = Path(ctx.data["plan"]["planfile"])
    approvals.require(ctx.journal, planfile)
    try:
        return tf.apply(planfile, on_event=_event_printer(ctx))
    finally:
        planfile.unlink(missing_ok=True)


def _after_sandbox_apply(ctx: StepContext, applied_outputs: dict[str, Any]) -> None:
    # apply's own report of the outputs spares a `terraform output` process (a second provider start-up)
    repository = applied_outputs.get("image_repository_url") or ctx.outputs().get("image_repository_url")
    if repository and ctx.image:
        ref = ctx.sandbox.push_image(repository, ctx.image)
        ctx.output.say(f"sandbox: pushed a placeholder image manifest {ref} to the emulated ECR")


def _summary_of(recorded: dict[str, Any]) -> PlanSummary:
    changes = recorded["summary"]["changes"]
    safety = recorded["summary"].get("destroy_safety", {})
    plan_like = {"resource_changes": [
        {"address": c["address"], "type": c["type"], "mode": "managed",
         "change": {"actions": {"create": ["create"], "update": ["update"], "delete": ["delete"],
                                "replace": ["delete", "create"]}[c["action"]],
                    "before": _before_of(safety.get(c["address"], {}))}} for c in changes]}
    return summarize(plan_like)


def _before_of(settings: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the nested "before" object that destroy_safety reads from the recorded flat settings."""
    before: dict[str, Any] = {}
    for path, value in settings.items():
        *parents, leaf = path.split(".")
        node = before
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return before


def _show_plan(ctx: StepContext, summary: PlanSummary) -> None:
    output = ctx.output
    if output.json_mode:
        output.say(f"plan: {summary.headline()}")
        return
    rows = [(rtype, counts.get("create", 0), counts.get("update", 0), counts.get("delete", 0),
             counts.get("replace", 0)) for rtype, counts in summary.by_type.items()]
    dangerous_types = {c.type for c in summary.dangerous}
    table = output.table(f"plan for {ctx.env.name}: {summary.headline()}",
                         ["resource type", "add", "change", "destroy", "replace"], rows,
                         styles=["bold red" if r[0] in dangerous_types else None for r in rows])
    output.err.print(table)
    for change in summary.dangerous:
        output.say(f"DANGER: {change.action} of stateful resource {change.address} "
                   f"({describe_safety(change.safety)})", "error")


def _event_printer(ctx: StepContext, verbose_only: bool = False) -> Callable[[dict[str, Any]], None]:
    def handle(event: dict[str, Any]) -> None:
        text = describe_event(event)
        if text is None:
            return
        kind = event.get("type")
        if verbose_only or kind in ("apply_progress", "planned_change"):
            ctx.output.say(text, "debug")
        else:
            ctx.output.say(text)

    return handle


def _private(path: Path) -> None:
    # Plan files hold every planned value, sensitive ones included: readable by the owner only.
    try:
        os.chmod(path, 0o600)
    except OSError:
        log.debug("could not restrict permissions of %s", path)
