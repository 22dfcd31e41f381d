"""The plan use case: terraform init + plan for an environment, summarised; changes nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from billingops.services.serving import ServingCheck, check_serving

if TYPE_CHECKING:
    from billingops.session import Session
    from billingops.terraform.plan_summary import PlanSummary


@dataclass
class PlanResult:
    env: str
    cloud: str
    has_changes: bool
    summary: PlanSummary
    serving: ServingCheck

    def document(self) -> dict[str, Any]:
        """The --json document: the environment, the plan summary's counts and changes, and whether the service
        serves terraform's latest revision (terraform's plan cannot show that: rollouts own the service's)."""
        return {"env": self.env, "cloud": self.cloud, "has_changes": self.has_changes, **self.summary.to_dict(),
                "serving": asdict(self.serving)}


def plan(session: Session, *, sandbox: bool = False, lock_timeout: str | None = None) -> PlanResult:
    """Plan the environment's infrastructure; the plan file is not kept (deploy plans again and applies
    exactly what it approved)."""
    from billingops.terraform.messages import describe_event
    from billingops.terraform.runner import Terraform

    env = session.env()
    info = None
    if sandbox:
        from billingops.services.sandbox import start_sandbox

        info = start_sandbox(session, env)
    ui = session.ui
    tf = Terraform.for_env(env, sandbox=info, output=ui, lock_timeout=lock_timeout)  # type: ignore[arg-type]
    with ui.status(f"terraform init ({env.name}, {env.cloud})"):
        tf.init(reconfigure=True)

    def debug(event: dict[str, Any]) -> None:
        text = describe_event(event)
        if text:
            ui.say(text, "debug")

    planfile = tf.data_dir / "plans" / "tfplan"
    try:
        with ui.status("terraform plan"):
            result = tf.plan(planfile, on_event=debug, need_plan_json=False)
    finally:
        planfile.unlink(missing_ok=True)  # it holds the database password and Redis AUTH in clear
    return PlanResult(env=env.name, cloud=env.cloud, has_changes=result.has_changes, summary=result.summary,
                      serving=check_serving(env, tf))

