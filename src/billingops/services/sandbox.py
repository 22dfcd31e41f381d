"""The sandbox use cases: the emulated AWS (moto) and throwaway PostgreSQL used by `deploy --sandbox`,
`plan --sandbox` and `doctor --sandbox`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from billingops.errors import UsageError

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.sandbox.emulator import SandboxInfo
    from billingops.session import Session


@dataclass
class SandboxState:
    """A running sandbox (`sandbox up`, `sandbox status`)."""

    status: str
    moto_url: str
    moto_pid: int
    region: str
    database_url: str | None
    started: str
    state_dir: str


@dataclass
class SandboxNotRunning:
    status: str = "not running"


@dataclass
class SandboxStopped:
    status: str
    moto: bool
    postgres: bool


def start_sandbox(session: Session, env: EnvConfig) -> SandboxInfo:
    """The running sandbox (started if needed), with this process's AWS clients pointed at it."""
    from billingops.sandbox.emulator import Sandbox

    if env.cloud != "aws":
        raise UsageError(f"--sandbox emulates AWS only, and {env.name} is configured for {env.cloud}.",
                         hint="Pass --cloud aws together with --sandbox.")
    info, started = Sandbox(session.settings.state_dir).up()
    info.apply_environ()
    session.ui.say(f"sandbox: {'started' if started else 'using'} moto on {info.moto_url}"
                   + (f", PostgreSQL on 127.0.0.1:{info.postgres_port}" if info.postgres_port else ""))
    return info


def up(session: Session) -> SandboxState:
    """Start moto on a free loopback port and a throwaway PostgreSQL; create the state bucket and lock table."""
    from billingops.sandbox.emulator import Sandbox

    info, started = Sandbox(session.settings.state_dir).up()
    return _describe(info, "started" if started else "already running")


def down(session: Session) -> SandboxStopped:
    """Stop the emulators and delete everything the sandbox held (its state, its database)."""
    from billingops.sandbox.emulator import Sandbox

    stopped = Sandbox(session.settings.state_dir).down()
    return SandboxStopped(status="stopped", moto=bool(stopped.get("moto")), postgres=bool(stopped.get("postgres")))


def status(session: Session) -> SandboxState | SandboxNotRunning:
    """Whether the sandbox runs, and its endpoints."""
    from billingops.sandbox.emulator import Sandbox

    info = Sandbox(session.settings.state_dir).status()
    return _describe(info, "running") if info else SandboxNotRunning()


def _describe(info: SandboxInfo, status: str) -> SandboxState:
    return SandboxState(status=status, moto_url=info.moto_url, moto_pid=info.moto_pid, region=info.region,
                        database_url=info.database_url, started=info.started, state_dir=str(info.root))
