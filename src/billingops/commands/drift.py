"""`billingops drift`: resources changed outside terraform; exit 1 on drift, 0 when there is none."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from billingops.commands.common import Session, with_session
from billingops.services.drift import check_drift

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
    check = check_drift(session, cloud)
    session.output.result(check, lambda console: _render(session.output, console, check.reports, check.serving))
    return 1 if check.drift else 0


def _render(output: Any, console: Any, reports: list[Any], serving: dict[str, Any]) -> None:
    for report in reports:
        if report.cloud in serving:
            lag = serving[report.cloud].behind_terraform
            console.print(f"{report.env} on {report.cloud}: {serving[report.cloud].line()}",
                          style="bold yellow" if lag else None, markup=False)
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
    if any(r.has_drift for r in reports) or any(c.behind_terraform for c in serving.values()):
        console.print(
            "Bring the cloud back with `billingops deploy --env ENV`, or adopt the change by editing "
            "the terraform code and tfvars.",
            markup=False,
        )
