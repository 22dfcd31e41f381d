"""`billingops doctor`: the machine-checkable part of the seed's pre-deployment checklist."""

from __future__ import annotations

from typing import Annotated

import typer

from billingops.commands.common import Session, with_session
from billingops.errors import EXIT_EXTERNAL

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def register(app: typer.Typer) -> None:
    app.command(help="Preflight checks: terraform, credentials, tfvars, backend, image, state lock, DNS.")(doctor)


@with_session()
def doctor(
    session: Session,
    image: Annotated[str | None, typer.Option("--image", help="Also check that this image tag is in the registry.")]
    = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Check against the running sandbox (moto).")] = False,
) -> None:
    """Run the preflight checks and show ok / warn / fail with the fix for each; exit 1 on any fail."""
    from billingops.preflight import run_checks

    env = session.env()
    info = None
    if sandbox:
        from billingops.commands.deploy import _start_sandbox

        info = _start_sandbox(session, env)

    def outputs() -> dict:
        from billingops.terraform.runner import Terraform

        tf = Terraform.for_env(env, sandbox=info)
        if info is not None:
            tf.init(reconfigure=True)  # the sandbox's scratch copy is fresh each time
        return tf.outputs()

    checks = run_checks(env, session.settings, image=image, outputs=outputs, sandbox=info)
    failed = [c for c in checks if c.status == "fail"]
    unchecked = [c for c in checks if not c.checked]
    data = {"env": env.name, "cloud": env.cloud,
            "outcome": "failed" if failed else ("could not check" if unchecked else "ok"),
            "checks": [{"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix, "checked": c.checked}
                       for c in checks],
            "could_not_check": [{"name": c.name, "why": c.detail} for c in unchecked]}

    def render(console) -> None:
        table = session.output.table(f"doctor: {env.name} on {env.cloud}", ["check", "status", "detail", "fix"],
                                     [(c.name, c.status, c.detail, c.fix) for c in checks],
                                     styles=[_STYLE[c.status] for c in checks])
        console.print(table)
        summary = f"{len(checks) - len(failed)} of {len(checks)} checks passed without failure"
        console.print(summary if not failed else f"{summary}; fix the failing rows before deploying.")
        if unchecked:
            console.print("COULD NOT CHECK " + ", ".join(c.name for c in unchecked) + ": unknown, not fine.")

    session.output.result(data, render)
    if failed:
        raise typer.Exit(1)
    if unchecked:
        raise typer.Exit(EXIT_EXTERNAL)
