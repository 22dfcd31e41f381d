"""`billingops runbook list|show|run`: the on-call runbooks, readable and executable step by step."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from typing import Annotated

import typer

from billingops.commands.common import Session, with_session
from billingops.errors import StepFailed, UsageError

log = logging.getLogger(__name__)

STEP_TIMEOUT = 3600.0


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="On-call runbooks: list, read, and run them step by step.", no_args_is_help=True)
    group.command("list")(list_cmd)
    group.command("show")(show_cmd)
    group.command("run")(run_cmd)
    app.add_typer(group, name="runbook")


@with_session(env=False, cloud=False)
def list_cmd(session: Session) -> None:
    """List the runbooks: name, title and the alerts each answers."""
    from billingops import runbooks

    books = runbooks.load_all()
    data = [
        {
            "name": b.name,
            "title": b.title,
            "alerts": list(b.alerts),
            "severity": b.severity,
            "steps": len(b.steps),
        }
        for b in books
    ]

    def render(console) -> None:
        console.print(
            session.output.table(
                "Runbooks",
                ["name", "title", "answers alert", "steps"],
                [(d["name"], d["title"], "; ".join(d["alerts"]) or "-", d["steps"]) for d in data],
            )
        )
        console.print(
            "Read one with `billingops runbook show NAME`; run it with `billingops runbook run NAME "
            "--env ENV`.",
            markup=False,
        )

    session.output.result({"runbooks": data}, render)


@with_session(env=False, cloud=False)
def show_cmd(
    session: Session, name: Annotated[str, typer.Argument(help="Runbook name (see `runbook list`).")]
) -> None:
    """Show a runbook: rendered Markdown on a terminal, raw Markdown otherwise."""
    from billingops import runbooks

    book = runbooks.find(name)
    if session.json:
        session.output.result(
            {
                "name": book.name,
                "title": book.title,
                "alerts": list(book.alerts),
                "path": str(book.path),
                "markdown": book.body,
            }
        )
        return
    out = session.output.out
    if out.is_terminal:
        from rich.markdown import Markdown

        out.print(Markdown(book.body))
    else:
        sys.stdout.write(book.body if book.body.endswith("\n") else book.body + "\n")


@with_session()
def run_cmd(
    session: Session,
    name: Annotated[str, typer.Argument(help="Runbook name (see `runbook list`).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the commands it would run; run nothing.")
    ] = False,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="Fill a <NAME> placeholder: --var NAME=VALUE.")
    ] = None,
    from_step: Annotated[int, typer.Option("--from-step", min=1, help="Start at this step number.")] = 1,
) -> None:
    """Walk a runbook step by step, running its billingops commands after confirmation."""
    from billingops import runbooks
    from billingops.runs.audit import new_run_id

    book = runbooks.find(name)
    env = session.env()
    variables = _parse_vars(var or [])
    steps = [s for s in book.steps if s.number >= from_step]
    if not book.steps:
        raise UsageError(
            f"Runbook {book.name} has no executable steps (## Step N sections).",
            hint=f"Read it with `billingops runbook show {book.name}`.",
        )
    # Resolve every command before starting, so a missing --var fails now rather than at step 4 of 6.
    plan = [
        (step, [(c, c.argv(env.name, env.cloud, variables)) for c in step.commands_for(env.cloud)])
        for step in steps
    ]
    output = session.output
    run_id = new_run_id()
    audit = session.audit()
    if not dry_run:
        audit.record("runbook.start", run_id=run_id, runbook=book.name, env=env.name, cloud=env.cloud)
    results: list[dict] = []
    for step, commands in plan:
        _show_step(session, step)
        step_result = {"step": step.number, "title": step.title, "commands": []}
        results.append(step_result)
        for _, argv in commands:
            shown = "billingops " + " ".join(argv)
            entry = {"command": shown, "outcome": "planned"}
            step_result["commands"].append(entry)
            if dry_run:
                output.say(f"would run: {shown}")
                continue
            if not output.confirm(f"Run `{shown}`?", flag="--yes"):
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
                output.say(f"skipped: {shown}", "warn")
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
                _show_rollback(session, book)
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
    summary = {
        "runbook": book.name,
        "env": env.name,
        "cloud": env.cloud,
        "dry_run": dry_run,
        "run_id": None if dry_run else run_id,
        "steps": results,
    }

    def render(console) -> None:
        verb = "Dry run of" if dry_run else "Finished"
        console.print(
            f"{verb} runbook {book.name} on {env.name}/{env.cloud}: {len(results)} step(s).", markup=False
        )
        if dry_run:
            for step in results:
                for entry in step["commands"]:
                    console.print(f"  step {step['step']}: {entry['command']}", markup=False)

    output.result(summary, render)


def _parse_vars(items: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(
                f"--var {item!r} is not NAME=VALUE.", hint="Write it like --var TIME=2026-11-25T10:00Z."
            )
        values[key.strip().upper()] = value
    return values


def _show_step(session: Session, step) -> None:
    output = session.output
    output.say(f"Step {step.number}: {step.title}")
    if step.text and not session.json:
        output.err.print(step.text, markup=False, highlight=False)


def _show_rollback(session: Session, book) -> None:
    text = book.rollback or "(this runbook has no roll back section)"
    session.output.say("Roll back:", "warn")
    session.output.err.print(text, markup=False, highlight=False)


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
