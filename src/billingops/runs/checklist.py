"""The checklist engine: named steps run in order, each recorded in the run journal and the audit log.

A step is a function `run(ctx) -> str` returning a one-line detail. It raises `Skip` to be skipped
visibly with a reason (for example "skipped in sandbox: ..."), or a BillingOpsError to fail the run.
Completed steps (ok or skipped) are never redone by --resume; the first failure stops the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops.errors import BillingOpsError, Interrupted, UsageError
from billingops.locks.heartbeat import fence_all
from billingops.runs.journal import Journal

if TYPE_CHECKING:
    from billingops.commands.common import Session
    from billingops.config import EnvConfig
    from billingops.console import Output
    from billingops.runs.audit import AuditLog
    from billingops.terraform.runner import Terraform

log = logging.getLogger(__name__)

OK, SKIPPED, FAILED, NOT_RUN, INTERRUPTED = "ok", "skipped", "failed", "not-run", "interrupted"
DONE = (OK, SKIPPED)


class Skip(Exception):  # noqa: N818  # control flow, not an error: the step chose not to run
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[StepContext], str | None]


@dataclass
class StepContext:
    """What a step may use. `data` is the run's journal data (persisted), for values steps pass on."""

    session: Session
    env: EnvConfig
    journal: Journal
    output: Output
    image: str | None = None
    dry_run: bool = False
    allow_destroy: bool = False
    lock_timeout: str | None = None
    sandbox: Any = None  # billingops.sandbox.emulator.SandboxInfo when running --sandbox
    services: dict[str, Any] = field(default_factory=dict)  # lazily built runners/adapters, per process

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.journal.data.setdefault("data", {})
        return data

    def save(self) -> None:
        self.journal.save()

    def skip_in_sandbox(self, reason: str) -> None:
        if self.sandbox is not None:
            raise Skip(f"skipped in sandbox: {reason}")

    def terraform(self) -> Terraform:
        from billingops.terraform.runner import Terraform

        if "terraform" not in self.services:
            self.services["terraform"] = Terraform.for_env(self.env, journal=self.journal, sandbox=self.sandbox,
                                                           output=self.output, lock_timeout=self.lock_timeout)
        runner: Terraform = self.services["terraform"]
        return runner

    def outputs(self) -> dict[str, Any]:
        """terraform output -json, read once per process."""
        if "outputs" not in self.services:
            self.services["outputs"] = self.terraform().outputs()
        values: dict[str, Any] = self.services["outputs"]
        return values


@dataclass
class StepResult:
    name: str
    outcome: str
    detail: str = ""
    seconds: float = 0.0


def select_steps(steps: Sequence[Step], *, start: str | None, only: str | None) -> list[Step]:
    names = [s.name for s in steps]
    for flag, value in (("--from", start), ("--only", only)):
        if value is not None and value not in names:
            raise UsageError(f"Unknown step {value!r} for {flag}; the steps are: {', '.join(names)}.",
                             hint=f"Pass one of them to {flag}.")
    if only:
        return [s for s in steps if s.name == only]
    if start:
        return list(steps[names.index(start):])
    return list(steps)


def run_checklist(steps: Sequence[Step], ctx: StepContext, *, selected: Sequence[Step],
                  on_event: Callable[[str, StepResult], None] | None = None) -> list[StepResult]:
    """Run `selected` (a subset of `steps`, in order); steps done in this journal are kept, not redone."""
    audit: AuditLog = ctx.session.audit()
    results: list[StepResult] = []
    failed = False
    chosen = {s.name for s in selected}
    for step in steps:
        previous = ctx.journal.step(step.name)
        if failed or step.name not in chosen:
            outcome = previous["outcome"] if previous and previous.get("outcome") in DONE else NOT_RUN
            detail = (previous or {}).get("detail", "") if outcome in DONE else ""
            results.append(StepResult(step.name, outcome, detail, (previous or {}).get("seconds", 0.0)))
            continue
        if previous and previous.get("outcome") in DONE and not ctx.journal.data.get("redo", {}).get(step.name):
            result = StepResult(step.name, previous["outcome"], previous.get("detail", "") + " (done earlier)",
                                previous.get("seconds", 0.0))
            results.append(result)
            if on_event:
                on_event("kept", result)
            continue
        result = _run_one(step, ctx, audit, on_event)
        results.append(result)
        if result.outcome in (FAILED, INTERRUPTED):
            failed = True
            if result.outcome == INTERRUPTED:
                ctx.data["interrupted_error"] = result.detail
    return results


def _run_one(step: Step, ctx: StepContext, audit: AuditLog, on_event: Callable[[str, StepResult], None] | None
             ) -> StepResult:
    run_id = ctx.journal.run_id
    ctx.journal.data.get("redo", {}).pop(step.name, None)
    ctx.journal.set_step(step.name, outcome="running", started=time.time(), detail="")
    audit.record("step.start", run_id=run_id, env=ctx.env.name, cloud=ctx.env.cloud, step=step.name)
    if on_event:
        on_event("start", StepResult(step.name, "running"))
    began = time.monotonic()
    error: BillingOpsError | None = None
    try:
        if not ctx.dry_run:
            fence_all(step.name)  # a run that lost its deploy lock stops here, before the step writes anything
        detail = step.run(ctx) or ""
        outcome = OK
    except Skip as skip:
        detail, outcome = skip.reason, SKIPPED
    except Interrupted as exc:
        detail, outcome, error = exc.paragraph(), INTERRUPTED, exc
    except KeyboardInterrupt:
        error = Interrupted(f"Step {step.name} was interrupted.", hint="Resume with --resume.")
        detail, outcome = error.paragraph(), INTERRUPTED
    except BillingOpsError as exc:
        detail, outcome, error = exc.paragraph(), FAILED, exc
    except Exception as exc:
        # A bug, not an operational failure: record the step as failed so --resume and `unlock` see a
        # finished step, then let the CLI edge write the crash log.
        seconds = round(time.monotonic() - began, 2)
        detail = f"internal error: {type(exc).__name__}: {exc}"
        ctx.journal.set_step(step.name, outcome=FAILED, detail=detail, seconds=seconds, finished=time.time())
        audit.record("step.end", run_id=run_id, env=ctx.env.name, cloud=ctx.env.cloud, step=step.name,
                     outcome=FAILED, detail=detail, seconds=seconds)
        raise
    seconds = round(time.monotonic() - began, 2)
    ctx.journal.set_step(step.name, outcome=outcome, detail=detail, seconds=seconds, finished=time.time())
    audit.record("step.end", run_id=run_id, env=ctx.env.name, cloud=ctx.env.cloud, step=step.name,
                 outcome=outcome, detail=detail, seconds=seconds)
    result = StepResult(step.name, outcome, detail, seconds)
    if error is not None:
        ctx.services.setdefault("errors", []).append(error)
    if on_event:
        on_event("end", result)
    return result
