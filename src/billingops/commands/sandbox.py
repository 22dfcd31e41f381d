"""`billingops sandbox up|down|status`: the emulated AWS used by `deploy --sandbox`."""

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
    from billingops.sandbox.emulator import Sandbox

    info, started = Sandbox(session.settings.state_dir).up()
    data = _describe(info, "started" if started else "already running")
    session.output.result(data, lambda console: console.print(_text(data)))


@sandbox_app.command("down")
@with_session(env=False, cloud=False)
def down(session: Session) -> None:
    """Stop the emulators and delete everything the sandbox held (its state, its database)."""
    from billingops.sandbox.emulator import Sandbox

    stopped = Sandbox(session.settings.state_dir).down()
    data = {"status": "stopped", **stopped}
    session.output.result(data, lambda console: console.print(
        "sandbox stopped" if any(stopped.values()) else "no sandbox was running"))


@sandbox_app.command("status")
@with_session(env=False, cloud=False)
def status(session: Session) -> None:
    """Show whether the sandbox runs, and its endpoints."""
    from billingops.sandbox.emulator import Sandbox

    info = Sandbox(session.settings.state_dir).status()
    data = _describe(info, "running") if info else {"status": "not running"}
    session.output.result(data, lambda console: console.print(_text(data)))


def _describe(info, status: str) -> dict:
    return {"status": status, "moto_url": info.moto_url, "moto_pid": info.moto_pid, "region": info.region,
            "database_url": info.database_url, "started": info.started, "state_dir": str(info.root)}


def _text(data: dict) -> str:
    if data["status"] == "not running":
        return "sandbox: not running (start it with `billingops sandbox up` or `billingops deploy --env dev --sandbox`)"
    return (f"sandbox: {data['status']}\n  moto:       {data['moto_url']} (pid {data['moto_pid']})\n"
            f"  postgres:   {data['database_url'] or 'not started'}\n  region:     {data['region']}\n"
            f"  state:      {data['state_dir']}")
