"""`billingops plan`: terraform init + plan for an environment, summarised; changes nothing (services.plan)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from billingops.commands.common import Session, duration_option, with_session

if TYPE_CHECKING:
    from rich.console import Console

    from billingops.services.plan import PlanResult


def register(app: typer.Typer) -> None:
    app.command(help="terraform init + plan, then a summary per resource type with dangerous changes "
                     "highlighted.")(plan)


@with_session()
def plan(
    session: Session,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Plan against the running sandbox (moto).")] = False,
    lock_timeout: Annotated[str | None, duration_option("--lock-timeout", go=True, help="Wait this long for a "
                                                                               "held state lock (e.g. 10m).")] = None,
) -> None:
    """Plan the environment's infrastructure and show what would be added, changed and destroyed.

    Destroys and replacements of stateful resources (databases, caches, KMS keys, buckets) are highlighted.
    The plan is not saved for apply: `billingops deploy` plans again and applies exactly what it approved.
    """
    from billingops.services import plan as use_case

    result = use_case.plan(session, sandbox=sandbox, lock_timeout=lock_timeout)
    session.output.result(result.document(), lambda console: _render(session, console, result))


def _render(session: Session, console: Console, result: PlanResult) -> None:
    summary = result.summary
    rows = [(t, c.get("create", 0), c.get("update", 0), c.get("delete", 0), c.get("replace", 0))
            for t, c in summary.by_type.items()]
    dangerous_types = {c.type for c in summary.dangerous}
    console.print(session.output.table(
        f"plan for {result.env} ({result.cloud}): {summary.headline() if result.has_changes else 'no changes'}",
        ["resource type", "add", "change", "destroy", "replace"], rows,
        styles=["bold red" if r[0] in dangerous_types else None for r in rows]))
    for change in summary.dangerous:
        console.print(f"[bold red]DANGER[/]: {change.action} of stateful resource {change.address}")
    lag = result.serving.behind_terraform
    console.print(result.serving.line() + (": run `billingops rollout` or deploy" if lag else ""),
                  style="bold yellow" if lag else "dim", markup=False)
