"""`billingops deploy`: the deployment checklist end to end, resumable and audited."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import typer

from billingops.commands.common import LockWaitOpt, Session, lock_wait_seconds, with_session
from billingops.errors import EXIT_INTERRUPTED, BillingOpsError, UsageError

log = logging.getLogger(__name__)

_STYLE = {"ok": "green", "skipped": "yellow", "failed": "bold red", "interrupted": "bold red", "not-run": "dim"}
# An apply that started and did not finish leaves its saved plan stale: resuming re-plans and re-approves.
_REPLAN_AFTER_APPLY = ("plan", "approval", "apply")


def register(app: typer.Typer) -> None:
    app.command(help="Run the deployment checklist: preflight, init, plan, approval, apply, secrets, "
                     "migrations, rollout, verify.")(deploy)


@with_session()
def deploy(
    session: Session,
    image: Annotated[str | None, typer.Option("--image", help="Image tag (or REPO:TAG) to roll out.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Preflight, init and plan only; change nothing.")]
    = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last failed or interrupted run.")] = False,
    from_step: Annotated[str | None, typer.Option("--from", help="Start at this step.")] = None,
    only: Annotated[str | None, typer.Option("--only", help="Run just this step.")] = None,
    allow_destroy: Annotated[bool, typer.Option("--allow-destroy",
                                                help="With --yes: approve destroying/replacing stateful resources.")]
    = False,
    lock_timeout: Annotated[str | None, typer.Option("--lock-timeout",
                                                     help="Wait this long for a held state lock (e.g. 10m).")]
    = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Rehearse against an emulated AWS (moto) on this "
                                                            "machine.")] = False,
    lock_wait: LockWaitOpt = None,
) -> None:
    """Run the deployment checklist as named steps, with a journal (--resume) and an audit record.

    Steps: preflight, init, plan, approval, apply, secrets, migrate, rollout, verify. The approval gate
    shows the plan; in prod, destroying or replacing a stateful resource needs the environment name typed
    (or --yes --allow-destroy). Ctrl-C is forwarded once to terraform so it releases its state lock.
    """
    from billingops.commands.deploy.steps import STEPS
    from billingops.runs.checklist import select_steps

    env = session.env()
    selected = select_steps(STEPS, start=from_step, only=only)
    if dry_run and (resume or from_step or only):
        raise UsageError("--dry-run cannot be combined with --resume, --from or --only.",
                         hint="Run `billingops deploy --env ENV --dry-run` on its own.")
    if lock_timeout is not None:
        _check_duration(lock_timeout)
    sandbox_info = _start_sandbox(session, env) if sandbox else None
    if sandbox_info is not None and image is None:
        image = sandbox_info.image_tag
    from billingops.runs.lifecycle import AuditSpelling, DeployLock, run_lifecycle

    previous = _resumable(session, env) if resume else None
    # A dry run changes nothing: it needs no lock and must not block a real deploy.
    lock = None if dry_run else DeployLock(
        env, lock_wait_seconds(lock_wait),
        [str(sandbox_info.backend_file(env.name))] if sandbox_info is not None else [])
    with run_lifecycle(session, command="deploy", env_name=env.name, cloud=env.cloud, previous=previous, lock=lock,
                       spelling=AuditSpelling(context={"env": env.name, "cloud": env.cloud})) as run:
        _prepare_journal(session, env, run.journal, resumed=previous is not None, from_step=from_step or only)
        _run(session, env, run, selected, image=image, dry_run=dry_run, allow_destroy=allow_destroy,
             lock_timeout=lock_timeout, sandbox_info=sandbox_info, resume=resume)


def _run(session: Session, env: Any, run: Any, selected: list[Any], *, image: str | None, dry_run: bool,
         allow_destroy: bool, lock_timeout: str | None, sandbox_info: Any, resume: bool) -> None:
    from billingops.commands.deploy.steps import STEPS
    from billingops.runs.checklist import StepContext, run_checklist

    output = session.output
    journal = run.journal
    sandbox = sandbox_info is not None
    journal.data["dry_run"] = dry_run
    if image:
        journal.data.setdefault("data", {})["image"] = image
    image = image or journal.data.get("data", {}).get("image")
    journal.save()
    if dry_run:
        selected = [s for s in selected if s.name in ("preflight", "init", "plan")]
    ctx = StepContext(session=session, env=env, journal=journal, output=output, image=image, dry_run=dry_run,
                      allow_destroy=allow_destroy, lock_timeout=lock_timeout, sandbox=sandbox_info)
    run.start(argv=session.argv, image=image, dry_run=dry_run, resume=resume, sandbox=sandbox)
    output.say(f"deploy {env.name} on {env.cloud}{' (sandbox)' if sandbox_info else ''}: run {journal.run_id}")
    started = time.monotonic()
    results = run_checklist(STEPS, ctx, selected=selected, on_event=_printer(output))
    errors: list[BillingOpsError] = ctx.services.get("errors", [])
    outcome = _outcome(results, errors)
    run.finish(outcome, seconds=round(time.monotonic() - started, 1),
               steps=[{"name": r.name, "outcome": r.outcome} for r in results])
    data = {"run_id": journal.run_id, "env": env.name, "cloud": env.cloud, "outcome": outcome,
            "sandbox": bool(sandbox_info), "dry_run": dry_run,
            "steps": [{"name": r.name, "outcome": "failed" if r.outcome == "interrupted" else r.outcome,
                       "detail": r.detail, "seconds": r.seconds} for r in results]}
    output.result(data, lambda console: _render(session, data, sandbox_info))
    if errors:
        err = errors[-1]
        output.error(err)
        if outcome in ("failed", "interrupted"):
            output.say(f"resume with: billingops deploy --env {env.name}"
                       f"{' --cloud ' + env.cloud if session.cloud else ''}{' --sandbox' if sandbox else ''} --resume")
        raise typer.Exit(EXIT_INTERRUPTED if outcome == "interrupted" else err.exit_code)


def _resumable(session: Session, env: Any) -> Any:
    from billingops.runs.journal import Journal

    journal = Journal.latest(session.settings.runs_dir, command="deploy", env=env.name, cloud=env.cloud)
    if journal is None or journal.status == "ok":
        raise UsageError(f"There is no failed or interrupted deploy of {env.name} ({env.cloud}) to resume.",
                         hint=f"Start a new one: billingops deploy --env {env.name}.")
    return journal


def _prepare_journal(session: Session, env: Any, journal: Any, *, resumed: bool, from_step: str | None) -> None:
    """What --resume must redo, or what --from/--only outside --resume carry over from an earlier run."""
    runs_dir = session.settings.runs_dir
    if resumed:
        apply_entry = journal.step("apply")
        if apply_entry and apply_entry.get("outcome") in ("failed", "interrupted", "running"):
            journal.data["redo"] = dict.fromkeys(_REPLAN_AFTER_APPLY, True)
        if from_step:
            from billingops.commands.deploy.steps import STEP_NAMES

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


def _journals_before(runs_dir: Any, run_id: str, env: Any):
    from billingops.runs.journal import iter_journals

    for journal in iter_journals(runs_dir):
        if journal.run_id != run_id and journal.data.get("command") == "deploy" \
                and journal.data.get("env") == env.name and journal.data.get("cloud") == env.cloud:
            yield journal


def _start_sandbox(session: Session, env: Any) -> Any:
    from billingops.sandbox.emulator import Sandbox

    if env.cloud != "aws":
        raise UsageError(f"--sandbox emulates AWS only, and {env.name} is configured for {env.cloud}.",
                         hint="Pass --cloud aws together with --sandbox.")
    info, started = Sandbox(session.settings.state_dir).up()
    info.apply_environ()
    session.output.say(f"sandbox: {'started' if started else 'using'} moto on {info.moto_url}"
                       + (f", PostgreSQL on 127.0.0.1:{info.postgres_port}" if info.postgres_port else ""))
    return info


def _outcome(results: list[Any], errors: list[BillingOpsError]) -> str:
    outcomes = {r.outcome for r in results}
    if "interrupted" in outcomes:
        return "interrupted"
    if "failed" in outcomes:
        return "failed"
    return "ok"


def _printer(output: Any):
    spinner: dict[str, Any] = {}

    def on_event(kind: str, result: Any) -> None:
        # On a terminal the running step is a live spinner line; terraform's events scroll above it.
        if "live" in spinner:
            spinner.pop("live").stop()
        if kind == "start":
            output.say(f"step {result.name}: running")
            if output.rich and not output.json_mode:
                spinner["live"] = output.err.status(f"[bold]{result.name}[/] ...")
                spinner["live"].start()
        elif kind == "kept":
            output.say(f"step {result.name}: {result.outcome} earlier, not redone")
        else:
            level = {"ok": "ok", "skipped": "warn"}.get(result.outcome, "error")
            detail = f": {result.detail}" if result.detail else ""
            output.say(f"step {result.name}: {result.outcome} ({result.seconds:.1f}s){detail}", level)

    return on_event


def _render(session: Session, data: dict[str, Any], sandbox_info: Any) -> None:
    output = session.output
    rows = [(s["name"], s["outcome"], f"{s['seconds']:.1f}s", s["detail"]) for s in data["steps"]]
    table = output.table(f"deploy {data['env']} ({data['cloud']}) run {data['run_id']}: {data['outcome']}",
                         ["step", "outcome", "time", "detail"], rows,
                         styles=[_STYLE.get(s["outcome"]) for s in data["steps"]])
    output.out.print(table)
    if sandbox_info is not None:
        output.out.print(f"The sandbox keeps running (moto on {sandbox_info.moto_url}); "
                         "stop it with `billingops sandbox down`.")


def _check_duration(value: str) -> None:
    import re

    if not re.fullmatch(r"\d+(ms|s|m|h)", value):
        raise UsageError(f"--lock-timeout {value!r} is not a duration.", hint="Use a number with s, m or h, e.g. 10m.")
