"""`billingops runbook list|show|run`: the on-call runbooks, readable and executable step by step."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from billingops.commands.common import Session, with_session
from billingops.services import runbook_run as use_case

log = logging.getLogger(__name__)


def _runbook_names() -> list[str]:
    from billingops.errors import BillingOpsError
    from billingops.services import runbooks

    try:
        return [book.name for book in runbooks.load_all()]
    except BillingOpsError:  # a broken runbooks folder is reported by the command itself
        return []


def _complete_runbook(incomplete: str) -> list[str]:
    return [name for name in _runbook_names() if name.startswith(incomplete)]


def _check_runbook(value: str) -> str:
    from billingops.errors import BillingOpsError, UsageError
    from billingops.services import runbooks

    try:
        runbooks.find(value)
    except UsageError as exc:
        raise typer.BadParameter(f"{exc.message} The runbooks: {', '.join(_runbook_names())}.") from None
    except BillingOpsError:  # a broken runbooks folder is reported by the command itself
        pass
    return value


NameArg = Annotated[str, typer.Argument(metavar="RUNBOOK", callback=_check_runbook, autocompletion=_complete_runbook,
                                        help="Runbook name: " + (", ".join(_runbook_names()) or "see `runbook list`")
                                        + ".")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="On-call runbooks: list, read, and run them step by step.", no_args_is_help=True)
    group.command("list")(list_cmd)
    group.command("show")(show_cmd)
    group.command("run")(run_cmd)
    app.add_typer(group, name="runbook")


@with_session(env=False, cloud=False)
def list_cmd(session: Session) -> None:
    """List the runbooks: name, title and the alerts each answers."""
    listing = use_case.list_runbooks()
    data = listing.runbooks

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

    session.output.result(listing, render)


@with_session(env=False, cloud=False)
def show_cmd(
    session: Session, name: NameArg
) -> None:
    """Show a runbook: rendered Markdown on a terminal, raw Markdown otherwise."""
    from billingops.services import runbooks

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
    name: NameArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the commands it would run; run nothing.")
    ] = False,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="Fill a <NAME> placeholder: --var NAME=VALUE.")
    ] = None,
    from_step: Annotated[int, typer.Option("--from-step", min=1, help="Start at this step number.")] = 1,
    allow_destructive: Annotated[
        bool, typer.Option("--allow-destructive",
                           help="Also run destructive steps (unlock, --replace-target, db restore) without typing "
                                "the environment name; --yes alone does not.")
    ] = False,
) -> None:
    """Walk a runbook step by step, running its billingops commands after confirmation."""
    summary = use_case.run_runbook(session, name, dry_run=dry_run, variables=var, from_step=from_step,
                                   allow_destructive=allow_destructive,
                                   show_step=lambda step: _show_step(session, step),
                                   show_rollback=lambda book: _show_rollback(session, book),
                                   ask_var=_asker(session))
    results = summary.steps

    def render(console) -> None:
        verb = "Dry run of" if dry_run else "Finished"
        console.print(
            f"{verb} runbook {summary.runbook} on {summary.env}/{summary.cloud}: {len(results)} step(s).",
            markup=False,
        )
        if dry_run:
            for step in results:
                for entry in step["commands"]:
                    console.print(f"  step {step['step']}: {entry['command']}", markup=False)

    session.output.result(summary, render)


def _show_step(session: Session, step) -> None:
    output = session.output
    output.say(f"Step {step.number}: {step.title}")
    if step.text and not session.json:
        output.err.print(step.text, markup=False, highlight=False)


def _asker(session: Session):
    """On a terminal: ask for a runbook variable at the step that needs it (None: nobody to ask)."""
    output = session.output
    if session.json or not getattr(output, "interactive", False):
        return None

    def ask(name: str, step) -> str:
        while True:
            output.err.print(f"Step {step.number} needs <{name}> (or pass --var {name}=VALUE): ", end="",
                             markup=False, highlight=False)
            value = sys.stdin.readline()
            if not value:  # end of input: nothing more will come
                from billingops.errors import UsageError

                raise UsageError(f"No value given for <{name}>.", hint=f"Pass --var {name}=VALUE.")
            if value.strip():
                return value.strip()

    return ask


def _show_rollback(session: Session, book) -> None:
    text = book.rollback or "(this runbook has no roll back section)"
    session.output.say("Roll back:", "warn")
    session.output.err.print(text, markup=False, highlight=False)
