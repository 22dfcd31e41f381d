"""`billingops deploy`: the deployment checklist end to end, resumable and audited (services.deploy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from billingops.commands.common import LockWaitOpt, Session, check_image, choice_option, duration_option, with_session

if TYPE_CHECKING:
    from billingops.console import Output
    from billingops.services.deploy import Deployed

# The checklist's step names (services.deploy.steps.STEP_NAMES, kept equal by a test): a copy, so that
# `deploy --help` and shell completion do not import the steps.
STEP_NAMES = ("preflight", "init", "plan", "approval", "apply", "secrets", "migrate", "rollout", "verify")

_STYLE = {"ok": "green", "skipped": "yellow", "failed": "bold red", "interrupted": "bold red", "not-run": "dim"}


def register(app: typer.Typer) -> None:
    app.command(help="Run the deployment checklist: preflight, init, plan, approval, apply, secrets, "
                     "migrations, rollout, verify.")(deploy)


@with_session()
def deploy(
    session: Session,
    image: Annotated[str | None, typer.Option("--image", metavar="IMAGE", callback=check_image,
                                                           help="Image tag (or REPO:TAG) to roll out.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Preflight, init and plan only; change nothing.")]
    = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last failed or interrupted run.")] = False,
    from_step: Annotated[str | None, choice_option("--from", STEP_NAMES, metavar="STEP",
                                                   help="Start at this step.")] = None,
    only: Annotated[str | None, choice_option("--only", STEP_NAMES, metavar="STEP", help="Run just this step.")]
    = None,
    allow_destroy: Annotated[bool, typer.Option("--allow-destroy",
                                                help="With --yes: approve destroying/replacing stateful resources.")]
    = False,
    lock_timeout: Annotated[str | None, duration_option("--lock-timeout", go=True,
                                                        help="Wait this long for a held state lock (e.g. 10m).")]
    = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Rehearse against an emulated AWS (moto) on this "
                                                            "machine.")] = False,
    lock_wait: LockWaitOpt = None,
) -> int:
    """Run the deployment checklist as named steps, with a journal (--resume) and an audit record.

    Steps: preflight, init, plan, approval, apply, secrets, migrate, rollout, verify. The approval gate
    shows the plan; in prod, destroying or replacing a stateful resource needs the environment name typed
    (or --yes --allow-destroy). Ctrl-C is forwarded once to terraform so it releases its state lock.
    """
    from billingops.services import deploy as use_case

    request = use_case.DeployRequest(image=image, dry_run=dry_run, resume=resume, from_step=from_step, only=only,
                                     allow_destroy=allow_destroy, lock_timeout=lock_timeout, sandbox=sandbox,
                                     lock_wait=lock_wait)
    try:
        deployed = use_case.run(session, request, on_event=_printer(session.output))
    except use_case.RunFailed as failed:
        _show(session, failed.result)
        session.output.error(failed.error)
        if failed.resumable:
            env = failed.result.result
            session.output.say(f"resume with: billingops deploy --env {env.env}"
                               f"{' --cloud ' + env.cloud if session.cloud else ''}"
                               f"{' --sandbox' if env.sandbox else ''} --resume")
        return failed.exit_code
    _show(session, deployed)
    return 0


def _show(session: Session, deployed: Deployed) -> None:
    session.output.result(deployed.result, lambda console: _render(session.output, deployed))


def _printer(output: Output) -> Any:
    from billingops.services.deploy import step_lines

    lines = step_lines(output)
    spinner: dict[str, Any] = {}

    def on_event(kind: str, result: Any) -> None:
        # On a terminal the running step is a live spinner line; terraform's events scroll above it.
        if "live" in spinner:
            spinner.pop("live").stop()
        lines(kind, result)
        if kind == "start" and output.rich and not output.json_mode:
            spinner["live"] = output.err.status(f"[bold]{result.name}[/] ...")
            spinner["live"].start()

    return on_event


def _render(output: Output, deployed: Deployed) -> None:
    data = deployed.result
    rows = [(s.name, s.outcome, f"{s.seconds:.1f}s", s.detail) for s in data.steps]
    table = output.table(f"deploy {data.env} ({data.cloud}) run {data.run_id}: {data.outcome}",
                         ["step", "outcome", "time", "detail"], rows,
                         styles=[_STYLE.get(s.outcome) for s in data.steps])
    output.out.print(table)
    if deployed.moto_url is not None:
        output.out.print(f"The sandbox keeps running (moto on {deployed.moto_url}); "
                         "stop it with `billingops sandbox down`.")
