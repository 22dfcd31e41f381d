"""`billingops drift`: a refresh-only plan per cloud, and every resource changed outside terraform."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from billingops.errors import UsageError
from billingops.services.serving import ServingCheck

if TYPE_CHECKING:
    from billingops.session import Session
    from billingops.terraform.drift import DriftReport

log = logging.getLogger(__name__)


@dataclass
class DriftCheck:
    drift: bool
    reports: list[DriftReport] = field(default_factory=list)
    # Per cloud: does the service serve terraform's latest revision? A lagging one counts as drift.
    serving: dict[str, ServingCheck] = field(default_factory=dict)


def check_drift(session: Session, cloud: str | None = None) -> DriftCheck:
    """Refresh-only plan of the environment on `cloud` (aws, gcp, both; None: its own); audited per cloud."""
    from billingops.services.serving import check_serving
    from billingops.terraform.drift import parse_plan, record_check
    from billingops.terraform.runner import Terraform

    if cloud not in (None, "aws", "gcp", "both"):
        raise UsageError(f"--cloud {cloud!r} is not aws, gcp or both.", hint="Pass --cloud aws|gcp|both.")
    settings = session.settings
    clouds = ["aws", "gcp"] if cloud == "both" else [cloud]
    reports = []
    serving: dict[str, ServingCheck] = {}
    for name in clouds:
        env = settings.env(session.env_name, name)
        with session.ui.status(
            f"Refresh-only plan of {env.name} on {env.cloud} (reads every resource; a few minutes)"
        ):
            tf = Terraform.for_env(env)
            tf.init()
            planfile = tf.data_dir / "plans" / "tfplan"
            try:
                result = tf.plan(planfile, refresh_only=True)
            finally:
                planfile.unlink(missing_ok=True)  # it holds every value in clear, secrets included
        report = parse_plan(result.plan_json, env.name, env.cloud)
        serving[env.cloud] = check_serving(env, tf)
        record_check(settings, report)
        session.audit().record("drift.check", env=env.name, cloud=env.cloud, drifted=len(report.drifted),
                               serving_behind=bool(serving[env.cloud].behind_terraform))
        reports.append(report)
    lagging = any(check.behind_terraform for check in serving.values())
    return DriftCheck(drift=any(r.has_drift for r in reports) or lagging, reports=reports, serving=serving)
