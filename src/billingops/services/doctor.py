"""The doctor use case: the machine-checkable part of the pre-deployment checklist (services/deploy/preflight)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops.errors import EXIT_EXTERNAL, EXIT_STEP_FAILED

if TYPE_CHECKING:
    from billingops.services.deploy.preflight import Check
    from billingops.session import Session


@dataclass
class DoctorResult:
    env: str
    cloud: str
    outcome: str  # ok; failed when any check fails; "could not check" when a check could not be made
    checks: list[Check] = field(default_factory=list)
    could_not_check: list[dict[str, str]] = field(default_factory=list)  # never an unchecked all-clear

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def exit_code(self) -> int:
        """1 when a check found a problem; 3 when the only failures are what could not be asked (the cloud
        unreachable) or a check could not be made; 0 otherwise."""
        if any(c.status == "fail" and c.checked for c in self.checks):
            return EXIT_STEP_FAILED
        return EXIT_EXTERNAL if self.failed or self.could_not_check else 0


def doctor(session: Session, *, image: str | None = None, sandbox: bool = False) -> DoctorResult:
    """Run the preflight checks: ok / warn / fail with the fix for each."""
    from billingops.services.deploy.preflight import run_checks

    env = session.env()
    info = None
    if sandbox:
        from billingops.services.sandbox import start_sandbox

        info = start_sandbox(session, env)

    def outputs() -> dict[str, Any]:
        from billingops.terraform.runner import Terraform

        tf = Terraform.for_env(env, sandbox=info)
        if info is not None:
            tf.init(reconfigure=True)  # the sandbox's scratch copy is fresh each time
        return tf.outputs()

    checks = run_checks(env, session.settings, image=image, outputs=outputs, sandbox=info, ask_cloud=True)
    failed = [c for c in checks if c.status == "fail"]
    unchecked = [{"name": c.name, "why": c.detail} for c in checks if not c.checked]
    outcome = "failed" if failed else ("could not check" if unchecked else "ok")
    return DoctorResult(env=env.name, cloud=env.cloud, outcome=outcome, checks=checks, could_not_check=unchecked)
