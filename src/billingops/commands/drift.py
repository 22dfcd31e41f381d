"""`billingops drift`: resources changed outside terraform; exit 1 on drift, 0 when there is none."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from billingops.commands.common import Session, with_session

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("drift")(drift_cmd)


@with_session(cloud=False)
def drift_cmd(
    session: Session,
    cloud: Annotated[
        str | None,
        typer.Option(
            "--cloud", envvar="BILLINGOPS_CLOUD", help="aws, gcp or both (default: the environment's cloud)."
        ),
    ] = None,
) -> int:
    """Run a refresh-only plan and list every resource changed outside terraform (secrets masked)."""
    from billingops.errors import UsageError
    from billingops.terraform.drift import parse_plan, record_check
    from billingops.terraform.runner import Terraform

    if cloud not in (None, "aws", "gcp", "both"):
        raise UsageError(f"--cloud {cloud!r} is not aws, gcp or both.", hint="Pass --cloud aws|gcp|both.")
    settings = session.settings
    clouds = ["aws", "gcp"] if cloud == "both" else [cloud]
    output = session.output
    reports = []
    for name in clouds:
        env = settings.env(session.env_name, name)
        with output.status(
            f"Refresh-only plan of {env.name} on {env.cloud} (reads every resource; a few minutes)"
        ):
            tf = Terraform.for_env(env, output=output)
            tf.init()
            result = tf.plan(refresh_only=True)
        report = parse_plan(result.plan_json, env.name, env.cloud)
        record_check(settings, report)
        session.audit().record("drift.check", env=env.name, cloud=env.cloud, drifted=len(report.drifted))
        reports.append(report)

    def render(console) -> None:
        for report in reports:
            if not report.has_drift:
                console.print(
                    f"{report.env} on {report.cloud}: no drift (checked {report.checked_at}).", markup=False
                )
                continue
            rows = []
            for item in report.drifted:
                if not item.changes:
                    rows.append(
                        (
                            item.address,
                            item.action,
                            "-",
                            "exists in state" if item.action == "delete" else "-",
                            "gone" if item.action == "delete" else "new",
                        )
                    )
                for change in item.changes:
                    rows.append((item.address, item.action, change.attribute, change.expected, change.actual))
            console.print(
                output.table(
                    f"Drift in {report.env} on {report.cloud}: {len(report.drifted)} resource(s)",
                    ["resource", "action", "attribute", "expected (terraform)", "actual (cloud)"],
                    rows,
                )
            )
        if any(r.has_drift for r in reports):
            console.print(
                "Bring the cloud back with `billingops deploy --env ENV`, or adopt the change by editing "
                "the terraform code and tfvars.",
                markup=False,
            )

    drifted = any(r.has_drift for r in reports)
    output.result({"drift": drifted, "reports": reports}, render)
    return 1 if drifted else 0
