"""`billingops doctor`: the machine-checkable part of the seed's pre-deployment checklist (services.doctor)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from billingops.commands.common import Session, with_session

if TYPE_CHECKING:
    from rich.console import Console

    from billingops.services.doctor import DoctorResult

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def register(app: typer.Typer) -> None:
    app.command(help="Preflight checks: terraform, credentials, tfvars, backend, image, state lock, DNS.")(doctor)


@with_session()
def doctor(
    session: Session,
    image: Annotated[str | None, typer.Option("--image", help="Also check that this image tag is in the registry.")]
    = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Check against the running sandbox (moto).")] = False,
) -> int:
    """Run the preflight checks and show ok / warn / fail with the fix for each; exit 1 on any fail."""
    from billingops.services import doctor as use_case

    result = use_case.doctor(session, image=image, sandbox=sandbox)
    session.output.result(result, lambda console: _render(session, console, result))
    return result.exit_code


def _render(session: Session, console: Console, result: DoctorResult) -> None:
    checks, failed = result.checks, result.failed
    table = session.output.table(f"doctor: {result.env} on {result.cloud}", ["check", "status", "detail", "fix"],
                                 [(c.name, c.status, c.detail, c.fix) for c in checks],
                                 styles=[_STYLE[c.status] for c in checks])
    console.print(table)
    summary = f"{len(checks) - len(failed)} of {len(checks)} checks passed without failure"
    console.print(summary if not failed else f"{summary}; fix the failing rows before deploying.")
    if result.could_not_check:
        console.print("COULD NOT CHECK " + ", ".join(u["name"] for u in result.could_not_check)
                      + ": unknown, not fine.")
