"""`billingops sandbox up|down|status`: the emulated AWS used by `deploy --sandbox` (services.sandbox)."""

from __future__ import annotations

import typer

from billingops.commands.common import Session, with_session

sandbox_app = typer.Typer(help="Manage the local AWS emulator (moto) used by `deploy --sandbox`.",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("up")
@with_session(env=False, cloud=False)
def up(session: Session) -> None:
    """Start moto on a free loopback port and a throwaway PostgreSQL; create the state bucket and lock table."""
    from billingops.services import sandbox as use_case

    state = use_case.up(session)
    session.output.result(state, lambda console: console.print(_text(state)))


@sandbox_app.command("down")
@with_session(env=False, cloud=False)
def down(session: Session) -> None:
    """Stop the emulators and delete everything the sandbox held (its state, its database)."""
    from billingops.services import sandbox as use_case

    stopped = use_case.down(session)
    session.output.result(stopped, lambda console: console.print(
        "sandbox stopped" if stopped.moto or stopped.postgres else "no sandbox was running"))


@sandbox_app.command("status")
@with_session(env=False, cloud=False)
def status(session: Session) -> None:
    """Show whether the sandbox runs, and its endpoints."""
    from billingops.services import sandbox as use_case

    state = use_case.status(session)
    session.output.result(state, lambda console: console.print(_text(state)))


def _text(state: object) -> str:
    from billingops.services.sandbox import SandboxState

    if not isinstance(state, SandboxState):
        return "sandbox: not running (start it with `billingops sandbox up` or `billingops deploy --env dev --sandbox`)"
    return (f"sandbox: {state.status}\n  moto:       {state.moto_url} (pid {state.moto_pid})\n"
            f"  postgres:   {state.database_url or 'not started'}\n  region:     {state.region}\n"
            f"  state:      {state.state_dir}")
