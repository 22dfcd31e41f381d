"""Whether the service serves terraform's latest task definition revision (issue 15): `plan` and `drift` say so
beside terraform's own answer, because terraform ignores the service's task definition (rollouts own it) and
so its plan shows no change while the service keeps running an older revision."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from billingops.errors import BillingOpsError


@dataclass
class ServingCheck:
    checked: bool
    behind_terraform: str | None = None  # why the serving revision lags terraform's latest, when it does
    why_not: str | None = None  # why it could not be checked

    def line(self) -> str:
        if self.behind_terraform:
            return f"serving revision: {self.behind_terraform}"
        if self.checked:
            return "serving revision: terraform's latest (or that revision with a rolled-out image)"
        return f"serving revision: not checked ({self.why_not})"


def serving_lag(cloud: str, outputs: Mapping[str, Any], adapter: Callable[[], Any]) -> ServingCheck:
    """Compare the ECS service's revision with terraform's output task_definition_arn; `adapter` builds the
    status reader (clouds.status_adapter) only when there is something to compare."""
    if cloud != "aws":
        return ServingCheck(False, why_not="Cloud Run serves the revision template terraform declares; "
                                           "compared on AWS only")
    cluster, service = outputs.get("ecs_cluster_name"), outputs.get("service_name")
    declared = outputs.get("task_definition_arn")
    if not (cluster and service and declared):
        return ServingCheck(False, why_not="terraform has no ecs_cluster_name, service_name and "
                                           "task_definition_arn outputs yet (nothing applied?)")
    try:
        status = adapter().service(str(cluster), str(service), outputs.get("container_name"), str(declared))
    except BillingOpsError as exc:
        return ServingCheck(False, why_not=" ".join(exc.message.split()))
    return ServingCheck(True, behind_terraform=status.behind_terraform)


def check_serving(env: Any, tf: Any) -> ServingCheck:
    """The serving revision against terraform's outputs (read from the state just planned)."""
    from billingops.clouds import status_adapter

    try:
        outputs = tf.outputs()
    except BillingOpsError as exc:
        return ServingCheck(False, why_not=f"terraform outputs unreadable: {' '.join(exc.message.split())[:200]}")
    return serving_lag(env.cloud, outputs, lambda: status_adapter(env))
