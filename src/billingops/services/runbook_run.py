"""`billingops runbook list|run`: the runbooks in a table, and walking one step by step.

`run` resolves every command first (a missing --var fails before step 1), asks before each command through
session.ui, runs it as `python -m billingops ARGS` with the terminal attached, audits every step, and stops
at the first failure. What a step or the roll back section says is shown through the callbacks the command
passes, since that is rendering.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops.errors import StepFailed, UsageError

if TYPE_CHECKING:
    from billingops.services.runbooks import Runbook, Step
    from billingops.session import Session

log = logging.getLogger(__name__)

STEP_TIMEOUT = 3600.0


@dataclass
class RunbookList:
    runbooks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunbookRun:
    runbook: str
    env: str
    cloud: str
    dry_run: bool
    run_id: str | None
    steps: list[dict[str, Any]] = field(default_factory=list)


def list_runbooks() -> RunbookList:
    """Every runbook: name, title, the alerts it answers, severity and its number of steps."""
    from billingops.services import runbooks

    return RunbookList([
        {
            "name": b.name,
            "title": b.title,
            "alerts": list(b.alerts),
            "severity": b.severity,
            "steps": len(b.steps),
        }
        for b in runbooks.load_all()
    ])


def is_destructive(argv: list[str]) -> bool:
    """Whether a runbook command can lose data or break a live run: `unlock`, `--replace-target`, `db restore`."""
    if "unlock" in argv or any(w == "--replace-target" or w.startswith("--replace-target=") for w in argv):
        return True
    return any(a == "db" and b == "restore" for a, b in zip(argv, argv[1:], strict=False))


def run_runbook(session: Session, name: str, *, dry_run: bool = False, variables: list[str] | None = None,
                from_step: int = 1, allow_destructive: bool = False,
                show_step: Callable[[Step], None] = lambda step: None,
                show_rollback: Callable[[Runbook], None] = lambda book: None,
                ask_var: Callable[[str, Step], str] | None = None) -> RunbookRun:
    """Walk runbook `name` from step `from_step`, running its billingops commands after confirmation.

    A <NAME> placeholder without a --var value: a dry run shows it as <NAME>; a real run asks for it through
    `ask_var` (given on a terminal) at the step that needs it, and without one fails before step 1."""
    from billingops.runs.audit import new_run_id
    from billingops.services import runbooks

    book = runbooks.find(name)
    env = session.env()
    values = parse_vars(variables or [])
    steps = [s for s in book.steps if s.number >= from_step]
    if not book.steps:
        raise UsageError(
            f"Runbook {book.name} has no executable steps (## Step N sections).",
            hint=f"Read it with `billingops runbook show {book.name}`.",
        )
    needed = sorted({n for s in steps for c in s.commands_for(env.cloud) for n in c.placeholders()} - set(values))
    if needed and dry_run:
        values = {**values, **{n: f"<{n}>" for n in needed}}
    elif needed and ask_var is None:
        raise UsageError(
            f"Runbook {book.name} needs a value for {', '.join(needed)} and there is no terminal to ask for it.",
            hint="Pass " + " ".join(f"--var {n}=VALUE" for n in needed) + " to runbook run, or run it on a "
            "terminal to be asked at the step that needs it.",
        )
    # Resolve every command that can be before starting, so a broken line fails now rather than at step 4 of
    # 6; a command waiting for a variable the engineer is asked for is resolved at its step.
    plan = [
        (step, [(c, None if set(c.placeholders()) - set(values) else c.argv(env.name, env.cloud, values))
                for c in step.commands_for(env.cloud)])
        for step in steps
    ]
    ui = session.ui
    run_id = new_run_id()
    audit = session.audit()
    if not dry_run:
        audit.record("runbook.start", run_id=run_id, runbook=book.name, env=env.name, cloud=env.cloud)
    results: list[dict[str, Any]] = []
    for step, commands in plan:
        show_step(step)
        step_result: dict[str, Any] = {"step": step.number, "title": step.title, "commands": []}
        results.append(step_result)
        for command, resolved in commands:
            if resolved is None and ask_var is not None:
                for var in command.placeholders():
                    if var not in values:
                        values[var] = ask_var(var, step)
            argv = resolved if resolved is not None else command.argv(env.name, env.cloud, values)
            shown = "billingops " + " ".join(argv)
            entry: dict[str, Any] = {"command": shown, "outcome": "planned"}
            step_result["commands"].append(entry)
            if dry_run:
                ui.say(f"would run: {shown}")
                continue
            confirmed = _confirm(session, shown, destructive=is_destructive(argv),
                                 allow_destructive=allow_destructive)
            if confirmed is None:
                entry["outcome"] = "skipped"
                audit.record(
                    "runbook.step",
                    run_id=run_id,
                    runbook=book.name,
                    step=step.number,
                    command=shown,
                    outcome="skipped",
                    env=env.name,
                )
                ui.say(f"skipped: {shown}", "warn")
                continue
            started = time.monotonic()
            code = _run_billingops(argv, to_stderr=session.json, env=_child_env(session, env.cloud))
            entry.update(
                outcome="ok" if code == 0 else "failed",
                exit_code=code,
                seconds=round(time.monotonic() - started, 1),
            )
            audit.record(
                "runbook.step",
                run_id=run_id,
                runbook=book.name,
                step=step.number,
                command=shown,
                outcome=entry["outcome"],
                exit_code=code,
                env=env.name,
                confirmed=confirmed,
            )
            if code != 0:
                audit.record(
                    "runbook.end",
                    run_id=run_id,
                    runbook=book.name,
                    outcome="failed",
                    step=step.number,
                    env=env.name,
                )
                show_rollback(book)
                raise StepFailed(
                    f"Runbook {book.name} stopped at step {step.number} ({step.title}): `{shown}` exited "
                    f"with code {code}.",
                    hint=f"Follow the roll back section shown above, or fix the cause and resume with "
                    f"`billingops runbook run {book.name} --env {env.name} --from-step {step.number}`.",
                    details={"run_id": run_id, "steps": results},
                )
        if not commands and not dry_run:
            audit.record(
                "runbook.step",
                run_id=run_id,
                runbook=book.name,
                step=step.number,
                outcome="read",
                env=env.name,
            )
    if not dry_run:
        audit.record("runbook.end", run_id=run_id, runbook=book.name, outcome="ok", env=env.name)
    return RunbookRun(runbook=book.name, env=env.name, cloud=env.cloud, dry_run=dry_run,
                      run_id=None if dry_run else run_id, steps=results)


def _confirm(session: Session, shown: str, *, destructive: bool, allow_destructive: bool) -> str | None:
    """How the command was confirmed (audited), or None when the engineer said no.

    --yes answers an ordinary step; a destructive one needs the environment name typed at a terminal or an
    explicit --allow-destructive (with no terminal and no flag: ApprovalRequired, exit 4, nothing run)."""
    ui = session.ui
    if not destructive:
        if not ui.confirm(f"Run `{shown}`?", flag="--yes"):
            return None
        return "--yes" if session.yes else "interactive"
    if allow_destructive:
        if not ui.confirm(f"Run the destructive command `{shown}`?", flag="--yes"):
            return None
        return "--allow-destructive"
    env_name = session.env().name
    if not ui.confirm_typed(f"`{shown}` is destructive (it can lose data or break a live run).", env_name,
                            flag="--allow-destructive (with --yes)"):
        return None
    return "typed"


def parse_vars(items: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(
                f"--var {item!r} is not NAME=VALUE.", hint="Write it like --var TIME=2026-11-25T10:00Z."
            )
        values[key.strip().upper()] = value
    return values


def _child_env(session: Session, cloud: str) -> dict[str, str]:
    """The runbook's commands act on the same cloud and configuration as `runbook run` itself
    (an explicit --cloud in a runbook line still wins: flags beat environment variables)."""
    child = {**os.environ, "BILLINGOPS_CLOUD": cloud}
    if session.settings.config_path is not None:
        child["BILLINGOPS_CONFIG"] = str(session.settings.config_path)
    return child


def _run_billingops(argv: list[str], *, to_stderr: bool = False, env: dict[str, str] | None = None) -> int:
    """Run one billingops command with the terminal attached (its own prompts must reach the engineer).

    Not process.run: that captures output, and these commands talk to the engineer directly. Still an
    argv list, never a shell, and with a timeout.
    """
    full = [sys.executable, "-P", "-m", "billingops", *argv]
    log.info("runbook: running %s", " ".join(full))
    try:
        # With --json our stdout carries one document only, so the children's output goes to stderr.
        stdout = sys.stderr.fileno() if to_stderr else None
        return subprocess.run(full, timeout=STEP_TIMEOUT, check=False, stdout=stdout, env=env).returncode
    except subprocess.TimeoutExpired:
        return 124
