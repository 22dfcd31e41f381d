"""`billingops plan`: terraform init + plan for an environment, summarised; changes nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from billingops.commands.common import Session, with_session


def register(app: typer.Typer) -> None:
    app.command(help="terraform init + plan, then a summary per resource type with dangerous changes "
                     "highlighted.")(plan)


@with_session()
def plan(
    session: Session,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Plan against the running sandbox (moto).")] = False,
    lock_timeout: Annotated[str | None, typer.Option("--lock-timeout", help="Wait this long for a held state "
                                                                            "lock (e.g. 10m).")] = None,
) -> None:
    """Plan the environment's infrastructure and show what would be added, changed and destroyed.

    Destroys and replacements of stateful resources (databases, caches, KMS keys, buckets) are highlighted.
    The plan is not saved for apply: `billingops deploy` plans again and applies exactly what it approved.
    """
    from billingops.terraform.runner import Terraform, describe_event

    env = session.env()
    info = None
    if sandbox:
        from billingops.services.sandbox import start_sandbox

        info = start_sandbox(session, env)
    tf = Terraform.for_env(env, sandbox=info, output=session.output, lock_timeout=lock_timeout)
    with session.output.status(f"terraform init ({env.name}, {env.cloud})"):
        tf.init(reconfigure=True)
    with session.output.status("terraform plan"):
        result = tf.plan(on_event=lambda e: (t := describe_event(e)) and session.output.say(t, "debug"))
    result.planfile.unlink(missing_ok=True)
    summary = result.summary
    data = {"env": env.name, "cloud": env.cloud, "has_changes": result.has_changes, **summary.to_dict()}

    def render(console) -> None:
        rows = [(t, c.get("create", 0), c.get("update", 0), c.get("delete", 0), c.get("replace", 0))
                for t, c in summary.by_type.items()]
        dangerous_types = {c.type for c in summary.dangerous}
        console.print(session.output.table(
            f"plan for {env.name} ({env.cloud}): {summary.headline() if result.has_changes else 'no changes'}",
            ["resource type", "add", "change", "destroy", "replace"], rows,
            styles=["bold red" if r[0] in dangerous_types else None for r in rows]))
        for change in summary.dangerous:
            console.print(f"[bold red]DANGER[/]: {change.action} of stateful resource {change.address}")

    session.output.result(data, render)
