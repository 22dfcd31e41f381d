"""`billingops cost`: a monthly estimate per component from the tfvars sizing, beside the seed's figures."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from billingops.commands.common import Session, with_session
from billingops.services.cost import COMPONENTS, estimate_costs

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("cost")(cost_cmd)


@with_session(cloud=False)
def cost_cmd(
    session: Session,
    cloud: Annotated[
        str | None,
        typer.Option(
            "--cloud", envvar="BILLINGOPS_CLOUD", help="aws, gcp or both (default: the environment's cloud)."
        ),
    ] = None,
) -> None:
    """Estimate the environment's monthly cost from its tfvars and the dated price table."""
    report = estimate_costs(session, cloud)
    estimates = report.estimates

    def render(console) -> None:
        columns = ["component"]
        for item in estimates:
            columns += [f"{item.cloud} $/month", f"{item.cloud} basis"]
            if item.reference_total is not None:
                columns.append(f"{item.cloud} seed")
        rows = []
        for component in COMPONENTS:
            row = [_LABELS[component]]
            for item in estimates:
                line = next(line for line in item.lines if line.component == component)
                row += [_money(line.monthly), line.basis]
                if item.reference_total is not None:
                    row.append(_money(line.reference))
            rows.append(row)
        total = ["total"]
        for item in estimates:
            total += [_money(item.total), "" if item.complete else "partial"]
            if item.reference_total is not None:
                total.append(_money(item.reference_total))
        rows.append(total)
        title = (
            f"Monthly estimate for {estimates[0].env} (on-demand list prices of {estimates[0].price_date})"
        )
        console.print(session.output.table(title, columns, rows))
        console.print(
            "Usage figures (traffic, logs, busy time) are assumptions from the price table; "
            "committed-use and reserved pricing cut 30-50%.",
            markup=False,
        )

    session.output.result(report, render)


_LABELS = {
    "database": "database",
    "cache": "cache",
    "compute": "compute",
    "load_balancer_network": "load balancer + network",
    "monitoring": "monitoring",
}


def _money(value):
    return "-" if value is None else f"${value:,.0f}"
