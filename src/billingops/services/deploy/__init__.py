"""The deploy use case: the deployment checklist end to end, resumable and audited.

`run(session, request)` runs the named steps (preflight, init, plan, approval, apply, secrets, migrate,
rollout, verify; see steps.py) under the run lifecycle (deploy lock -> journal -> audit) and returns a
`Deployed`; a run that ends failed or interrupted raises RunFailed carrying it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.errors import BillingOpsError, UsageError
from billingops.runs.lifecycle import RunFailed

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.runs.checklist import Step, StepResult
    from billingops.runs.journal import Journal
    from billingops.runs.lifecycle import Run
    from billingops.sandbox.emulator import SandboxInfo
    from billingops.session import Session
    from billingops.ui import UI

log = logging.getLogger(__name__)

__all__ = ["DeployRequest", "DeployResult", "Deployed", "RunFailed", "StepRow", "run", "step_lines"]

# An apply that started and did not finish leaves its saved plan stale: resuming re-plans and re-approves.
_REPLAN_AFTER_APPLY = ("plan", "approval", "apply")

OnEvent = Callable[[str, "StepResult"], None]


@dataclass(frozen=True)
class DeployRequest:
    image: str | None = None
    dry_run: bool = False
    resume: bool = False
    from_step: str | None = None
    only: str | None = None
    allow_destroy: bool = False
    lock_timeout: str | None = None
    sandbox: bool = False
    lock_wait: str | None = None  # a duration (--lock-wait); none: a held lock is refused at once


@dataclass
class StepRow:
    name: str
    outcome: str
    detail: str
    seconds: float


@dataclass
class DeployResult:
    """The --json document of a deploy."""

    run_id: str
    env: str
    cloud: str
    outcome: str
    sandbox: bool
    dry_run: bool
    steps: list[StepRow] = field(default_factory=list)


@dataclass
class Deployed:
    """A finished deploy: its result, and the sandbox left running (shown with it, not part of the document)."""

    result: DeployResult
    moto_url: str | None = None


def run(session: Session, request: DeployRequest, *, on_event: OnEvent | None = None) -> Deployed:
    """Run the deployment checklist as named steps, with a journal (--resume) and an audit record.

    The approval gate shows the plan; in prod, destroying or replacing a stateful resource needs the
    environment name typed (or --yes --allow-destroy). Ctrl-C is forwarded once to terraform so it releases
    its state lock. `on_event` sees each step start and end (default: one line each on session.ui).
    """
    from billingops.runs.checklist import select_steps
    from billingops.runs.lifecycle import AuditSpelling, DeployLock, run_lifecycle
    from billingops.services.deploy.steps import STEPS

    env = session.env()
    selected = select_steps(STEPS, start=request.from_step, only=request.only)
    if request.dry_run and (request.resume or request.from_step or request.only):
        raise UsageError("--dry-run cannot be combined with --resume, --from or --only.",
                         hint="Run `billingops deploy --env ENV --dry-run` on its own.")
    if request.lock_timeout is not None:
        _check_duration(request.lock_timeout)
    sandbox_info = None
    if request.sandbox:
        from billingops.services.sandbox import start_sandbox

        sandbox_info = start_sandbox(session, env)
    image = request.image
    if sandbox_info is not None and image is None:
        image = sandbox_info.image_tag
    previous = _resumable(session, env) if request.resume else None
    # A dry run changes nothing: it needs no lock and must not block a real deploy.
    lock = None if request.dry_run else DeployLock(
        env, _seconds(request.lock_wait),
        [str(sandbox_info.backend_file(env.name))] if sandbox_info is not None else [])
    with run_lifecycle(session, command="deploy", env_name=env.name, cloud=env.cloud, previous=previous, lock=lock,
                       spelling=AuditSpelling(context={"env": env.name, "cloud": env.cloud})) as lifecycle:
        try:
            _prepare_journal(session, env, lifecycle.journal, resumed=previous is not None,
                             from_step=request.from_step or request.only)
            return _run(session, env, lifecycle, selected, request, image=image, sandbox_info=sandbox_info,
                        on_event=on_event or step_lines(session.ui))
        finally:
            _delete_plan(lifecycle.journal)


def _delete_plan(journal: Journal) -> None:
    """The saved plan holds the database password and Redis AUTH in clear: it never outlives its run (after
    apply, a refusal, a failure or a dry run). A resumed run plans again and asks for approval again."""
    recorded = journal.data.get("data", {}).get("plan") or {}
    for planfile in (recorded.get("planfile"), (recorded.get("first_apply") or {}).get("planfile")):
        if planfile:
            Path(planfile).unlink(missing_ok=True)


def _run(session: Session, env: EnvConfig, lifecycle: Run, selected: list[Step], request: DeployRequest, *,
         image: str | None, sandbox_info: SandboxInfo | None, on_event: OnEvent) -> Deployed:
    from billingops.runs.checklist import StepContext, run_checklist
    from billingops.services.deploy.steps import STEPS

    journal = lifecycle.journal
    sandbox = sandbox_info is not None
    journal.data["dry_run"] = request.dry_run
    if image:
        journal.data.setdefault("data", {})["image"] = image
    image = image or journal.data.get("data", {}).get("image")
    journal.save()
    if request.dry_run:
        selected = [s for s in selected if s.name in ("preflight", "init", "plan")]
    # StepContext.output is the edge's Output: the approval step renders the plan table with it.
    ctx = StepContext(session=session, env=env, journal=journal,  # type: ignore[arg-type]  # see above
                      output=session.ui, image=image, dry_run=request.dry_run,  # type: ignore[arg-type]
                      allow_destroy=request.allow_destroy, lock_timeout=request.lock_timeout, sandbox=sandbox_info)
    lifecycle.start(argv=session.argv, image=image, dry_run=request.dry_run, resume=request.resume, sandbox=sandbox)
    session.ui.say(f"deploy {env.name} on {env.cloud}{' (sandbox)' if sandbox_info else ''}: run {journal.run_id}")
    started = time.monotonic()
    results = run_checklist(STEPS, ctx, selected=selected, on_event=on_event)
    errors: list[BillingOpsError] = ctx.services.get("errors", [])
    outcome = _outcome(results)
    lifecycle.finish(outcome, seconds=round(time.monotonic() - started, 1),
                     steps=[{"name": r.name, "outcome": r.outcome} for r in results])
    result = DeployResult(
        run_id=journal.run_id, env=env.name, cloud=env.cloud, outcome=outcome, sandbox=sandbox,
        dry_run=request.dry_run,
        steps=[StepRow(r.name, "failed" if r.outcome == "interrupted" else r.outcome, r.detail, r.seconds)
               for r in results])
    deployed = Deployed(result, sandbox_info.moto_url if sandbox_info is not None else None)
    if errors:
        raise RunFailed(deployed, errors[-1], interrupted=outcome == "interrupted",
                        resumable=outcome in ("failed", "interrupted"))
    return deployed


def _resumable(session: Session, env: EnvConfig) -> Journal:
    from billingops.runs.journal import Journal

    journal = Journal.latest(session.settings.runs_dir, command="deploy", env=env.name, cloud=env.cloud)
    if journal is None or journal.status == "ok":
        raise UsageError(f"There is no failed or interrupted deploy of {env.name} ({env.cloud}) to resume.",
                         hint=f"Start a new one: billingops deploy --env {env.name}.")
    return journal


def _prepare_journal(session: Session, env: EnvConfig, journal: Journal, *, resumed: bool,
                     from_step: str | None) -> None:
    """What --resume must redo, or what --from/--only outside --resume carry over from an earlier run."""
    runs_dir = session.settings.runs_dir
    if resumed:
        apply_entry = journal.step("apply")
        if apply_entry and apply_entry.get("outcome") in ("failed", "interrupted", "running"):
            journal.data["redo"] = dict.fromkeys(_REPLAN_AFTER_APPLY, True)
        recorded = journal.data.get("data", {}).get("plan") or {}
        planfile = recorded.get("planfile") if recorded.get("has_changes") else None
        applied = apply_entry is not None and apply_entry.get("outcome") in ("ok", "skipped")
        if planfile and not Path(planfile).is_file() and not applied:
            # The run's plan file was deleted when it stopped (it holds secrets): plan and ask again.
            journal.data["redo"] = dict.fromkeys(_REPLAN_AFTER_APPLY, True)
        if from_step:
            from billingops.services.deploy.steps import STEP_NAMES

            journal.data["redo"] = dict.fromkeys(STEP_NAMES[STEP_NAMES.index(from_step):], True)
        journal.save()
        return
    if from_step:
        # --from/--only outside --resume still need what earlier steps produced (the saved plan).
        for earlier in _journals_before(runs_dir, journal.run_id, env):
            if earlier.data.get("data") and not earlier.data.get("dry_run"):
                journal.data["data"] = dict(earlier.data["data"])
                journal.data["carried_from"] = earlier.run_id
                break
        journal.save()


def _journals_before(runs_dir: Any, run_id: str, env: EnvConfig) -> Iterator[Journal]:
    from billingops.runs.journal import iter_journals

    for journal in iter_journals(runs_dir):
        if journal.run_id != run_id and journal.data.get("command") == "deploy" \
                and journal.data.get("env") == env.name and journal.data.get("cloud") == env.cloud:
            yield journal


def _outcome(results: list[StepResult]) -> str:
    outcomes = {r.outcome for r in results}
    if "interrupted" in outcomes:
        return "interrupted"
    if "failed" in outcomes:
        return "failed"
    return "ok"


def step_lines(ui: UI) -> OnEvent:
    """One progress line per step start, end and kept (done in an earlier run) step."""

    def on_event(kind: str, result: StepResult) -> None:
        if kind == "start":
            ui.say(f"step {result.name}: running")
        elif kind == "kept":
            ui.say(f"step {result.name}: {result.outcome} earlier, not redone")
        else:
            level = {"ok": "ok", "skipped": "warn"}.get(result.outcome, "error")
            detail = f": {result.detail}" if result.detail else ""
            ui.say(f"step {result.name}: {result.outcome} ({result.seconds:.1f}s){detail}", level)

    return on_event


def _seconds(lock_wait: str | None) -> float:
    from billingops.config import parse_duration

    return parse_duration(lock_wait, "--lock-wait") if lock_wait else 0.0


def _check_duration(value: str) -> None:
    if not re.fullmatch(r"\d+(ms|s|m|h)", value):
        raise UsageError(f"--lock-timeout {value!r} is not a duration.", hint="Use a number with s, m or h, e.g. 10m.")
