"""ECS rollout: a new task definition revision with only the image changed, a service update, a watched deployment.

The new revision is a copy of the revision terraform declared (the output task_definition_arn, terraform's
latest), not of the serving one, so terraform's changes to environment, secrets, CPU/memory or sidecars reach the
service; `revision_lag` says when the serving revision is behind terraform's.

The deployment is watched through describe_services: the PRIMARY deployment must run the new task definition
and reach rolloutState COMPLETED. FAILED, or a PRIMARY deployment back on another task definition (the deployment
circuit breaker rolled back), fails the rollout; a failed health gate rolls back to the previous revision.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from billingops.clouds.base import aws_client, aws_errors
from billingops.clouds.health import HealthChecker
from billingops.clouds.rollout import Fence, Progress, Revision, RolloutOutcome, Waiting, no_fence, output_value
from billingops.config import EnvConfig
from billingops.errors import CloudError, StepFailed, UsageError

log = logging.getLogger(__name__)


class EcsRollout:
    cloud = "aws"

    def __init__(self, ecs: Any, *, cluster: str, service: str, container: str | None = None,
                 health_url: str | None = None, declared: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, fence: Fence | None = None) -> None:
        self.ecs = ecs
        # Called before each write (register, update): raises (LockLost) once the run lost its deploy lock.
        self.fence = fence or no_fence
        self.declared = declared  # terraform's latest revision (output task_definition_arn), if known
        self.cluster = cluster
        self.service = service
        self.container = container
        self._health_url = health_url
        self.sleep = sleep

    @classmethod
    def from_env(
        cls, env: EnvConfig, outputs: Mapping[str, Any], *, health_url: str | None = None,
        fence: Fence | None = None,
    ) -> EcsRollout:
        cluster = output_value(outputs, "ecs_cluster_name", what="the ECS cluster", flag="--cluster")
        service = output_value(outputs, "service_name", what="the ECS service", flag="--service")
        return cls(aws_client("ecs", env.region), cluster=cluster, service=service,
                   container=outputs.get("container_name") or None,
                   health_url=health_url or outputs.get("load_balancer_url") or None,
                   declared=outputs.get("task_definition_arn") or None, fence=fence)

    # -- reading -------------------------------------------------------------------------------------
    def health_base_url(self) -> str | None:
        return self._health_url

    def describe(self) -> dict[str, Any]:
        with aws_errors(f"Describing ECS service {self.service} in cluster {self.cluster}"):
            reply = self.ecs.describe_services(cluster=self.cluster, services=[self.service])
        services: list[dict[str, Any]] = [s for s in reply.get("services", []) if s.get("status") != "INACTIVE"]
        if not services:
            raise CloudError(
                f"The ECS service {self.service!r} does not exist (or is inactive) in cluster {self.cluster!r}.",
                hint="Check --cluster/--service (or the terraform outputs ecs_cluster_name/service_name), then retry.",
            )
        return services[0]

    def task_definition(self, ref: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        with aws_errors(f"Describing task definition {ref}"):
            try:
                reply = self.ecs.describe_task_definition(taskDefinition=ref, include=["TAGS"])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in (
                    "ClientException",
                    "InvalidParameterException",
                ):
                    raise UsageError(f"The task definition {ref!r} does not exist: {exc}.",
                                     hint="Pass --to FAMILY:REVISION naming a registered revision.") from None
                raise
        return {**reply["taskDefinition"], "tags": reply.get("tags") or []}

    def current(self) -> Revision:
        td = self.task_definition(self.describe()["taskDefinition"])
        return Revision(_short(td["taskDefinitionArn"]), image_of(td, self.container))

    # -- changing ------------------------------------------------------------------------------------
    def deploy(
        self,
        image: str,
        *,
        health: HealthChecker | None,
        waiting: Waiting,
        canary: Sequence[int] = (100,),
        wait: bool = True,
        progress: Progress = print,
    ) -> RolloutOutcome:
        if list(canary) != [100]:
            raise UsageError("--canary steps are a Cloud Run feature; ECS rolls tasks over with its own "
                             "minimum/maximum healthy percent.", hint="Drop --canary for AWS environments.")
        began = time.monotonic()
        previous = self.describe()["taskDefinition"]
        old = self.task_definition(previous)
        lag = revision_lag(previous, self.declared)
        if image_of(old, self.container) == image and lag is None:
            # Registering an identical revision would only restart the tasks; say so instead.
            progress(f"the service already runs {image} ({_short(previous)}): nothing to roll out")
            return RolloutOutcome("aws", self.service, "rollout", "unchanged", image, _short(previous),
                                  _short(previous), notes=[f"the service already runs {image}"])
        if lag is not None:
            progress(lag)
        base = self.task_definition(self.declared) if self.declared else old
        new_arn = revision_with_image(self.ecs, base, image, self.container, fence=self.fence)
        origin = f"from terraform's {_short(base['taskDefinitionArn'])}; " if self.declared else ""
        progress(f"registered task definition {_short(new_arn)} ({origin}image {image}; previous {_short(previous)})")
        self._point_service_at(new_arn)
        outcome = RolloutOutcome(
            "aws", self.service, "rollout", "updated-not-waited", image, _short(previous), _short(new_arn)
        )
        if lag is not None:
            outcome.notes.append(lag)
        if not wait:
            outcome.notes.append("the deployment was not waited for")
            return outcome
        try:
            self.wait_for(new_arn, waiting, progress)
        except StepFailed as failure:
            self._roll_back_after(failure, previous, waiting, progress)
        if health is not None and self._health_url:
            result = health.check(self._health_url, on_attempt=_report_attempt(progress))
            outcome.health = result
            if not result.ok:
                self._roll_back_after(StepFailed(f"The health gate failed: {result.describe()}."), previous,
                                      waiting, progress)
        elif health is not None:
            outcome.notes.append("no load balancer URL is known: the health gate was not run")
        outcome.status = "completed"
        outcome.seconds = round(time.monotonic() - began, 1)
        return outcome

    def rollback(self, *, to: str | None, waiting: Waiting, wait: bool = True,
                 progress: Progress = print) -> RolloutOutcome:
        began = time.monotonic()
        current_arn = self.describe()["taskDefinition"]
        current = self.task_definition(current_arn)
        target = self.task_definition(_qualify(to, current["family"])) if to else self._previous_of(current)
        target_arn = target["taskDefinitionArn"]
        if target_arn == current_arn:
            raise UsageError(
                f"The service {self.service} already runs {_short(target_arn)}: nothing to roll back to.",
                hint="Pass --to FAMILY:REVISION naming another revision.",
            )
        self._point_service_at(target_arn)
        progress(f"service {self.service} now points at {_short(target_arn)} (was {_short(current_arn)})")
        outcome = RolloutOutcome("aws", self.service, "rollback", "updated-not-waited",
                                 image_of(target, self.container), _short(current_arn), _short(target_arn))
        if wait:
            self.wait_for(target_arn, waiting, progress)
            outcome.status = "completed"
        outcome.seconds = round(time.monotonic() - began, 1)
        return outcome

    def wait_for(self, arn: str, waiting: Waiting, progress: Progress) -> None:
        """Until the PRIMARY deployment on `arn` is COMPLETED; StepFailed on FAILED, rollback or deadline."""
        deadline = waiting.deadline()
        last = ""
        while True:
            service = self.describe()
            primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None)
            if primary is not None:
                line = _progress_line(primary)
                if line != last:
                    progress(line)
                    last = line
                if primary.get("taskDefinition") != arn:
                    raise StepFailed(
                        f"ECS replaced the deployment of {_short(arn)}: the PRIMARY deployment runs "
                        f"{_short(primary.get('taskDefinition', '?'))} (the deployment circuit breaker rolled back, "
                        "or someone else deployed).",
                        hint="Check the stopped tasks' reasons (`aws ecs describe-tasks`) and the service events.",
                    )
                state = primary.get("rolloutState")
                if state == "FAILED":
                    raise StepFailed(f"The ECS deployment of {_short(arn)} FAILED: "
                                     f"{primary.get('rolloutStateReason') or 'no reason given'}.",
                                     hint="Check the stopped tasks' reasons and the service events.")
                if state == "COMPLETED" or (state is None and _settled(service, primary)):
                    return
            if time.monotonic() + waiting.poll > deadline:
                raise StepFailed(
                    f"The ECS deployment of {_short(arn)} did not complete within {waiting.timeout:.0f} s "
                    f"(last: {last or 'no PRIMARY deployment'}).",
                    hint="Raise --timeout, or run `billingops rollback` if it is stuck.")
            self.sleep(waiting.poll)

    def _point_service_at(self, arn: str) -> None:
        self.fence(f"updating ECS service {self.service} to {_short(arn)}")
        with aws_errors(f"Updating ECS service {self.service} to {_short(arn)}"):
            self.ecs.update_service(cluster=self.cluster, service=self.service, taskDefinition=arn)

    def _previous_of(self, current: dict[str, Any]) -> dict[str, Any]:
        with aws_errors(f"Listing revisions of task definition family {current['family']}"):
            pages = self.ecs.get_paginator("list_task_definitions").paginate(
                familyPrefix=current["family"], status="ACTIVE", sort="DESC")
            arns = [arn for page in pages for arn in page.get("taskDefinitionArns", [])]
        older = sorted((a for a in arns if _family(a) == current["family"] and _rev(a) < current["revision"]),
                       key=_rev, reverse=True)
        if not older:
            raise UsageError(
                f"There is no active revision of {current['family']} older than "
                f"{current['revision']} to roll back to.",
                hint="Pass --to FAMILY:REVISION, or roll forward with `billingops rollout --image`.",
            )
        return self.task_definition(older[0])

    def _roll_back_after(
        self, failure: StepFailed, previous: str, waiting: Waiting, progress: Progress
    ) -> None:
        progress(f"rolling back to {_short(previous)}: {failure.message}")
        self._point_service_at(previous)
        try:
            self.wait_for(previous, waiting, progress)
            state = f"The service was rolled back to {_short(previous)} and that deployment completed."
        except StepFailed as again:
            state = (
                f"The service was pointed back at {_short(previous)}, but that deployment did not settle "
                f"either: {again.message}"
            )
        raise StepFailed(f"{failure.message} {state}",
                         hint=failure.hint or "Fix the image and roll out again.") from None


def revision_lag(serving: str | None, declared: str | None) -> str | None:
    """Why the serving revision is behind terraform's latest (output task_definition_arn), or None.

    A rollout registers a copy of terraform's revision, so a serving revision of the same family numbered above
    terraform's is terraform's plus an image; one numbered below it misses a change terraform made since.
    """
    if not serving or not declared or _short(serving) == _short(declared):
        return None
    try:
        behind = _family(serving) != _family(declared) or _rev(serving) < _rev(declared)
    except (ValueError, IndexError):
        behind = True
    if not behind:
        return None
    return (f"the service runs {_short(serving)}, behind terraform's latest revision {_short(declared)}: "
            "terraform's task definition changes are not served until `billingops rollout` (or deploy) runs")


def revision_with_image(ecs: Any, base: Mapping[str, Any], image: str, container: str | None, *,
                        fence: Fence | None = None) -> str:
    """The ARN of a revision that is `base` with only the image changed: the family's latest revision when it
    is exactly that (a migration task or an earlier attempt registered it), else a newly registered one."""
    model = ecs.meta.service_model
    spec = with_image(base, image, container, model)
    family = base["family"]
    with aws_errors(f"Describing the latest revision of task definition family {family}"):
        reply = ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
    latest = {**reply["taskDefinition"], "tags": reply.get("tags") or []}
    if image_of(latest, container) == image and with_image(latest, image, container, model) == spec:
        return str(latest["taskDefinitionArn"])
    (fence or no_fence)(f"registering a new revision of task definition family {family}")
    with aws_errors(f"Registering a new revision of task definition family {family}"):
        return str(ecs.register_task_definition(**spec)["taskDefinition"]["taskDefinitionArn"])


def _report_attempt(progress: Progress) -> Callable[[Any], None]:
    return lambda r: progress(f"health {r.url}: {r.status or r.error}" + ("" if r.ok else " (retrying)"))


def _progress_line(d: Mapping[str, Any]) -> str:
    return (
        f"deployment {_short(d.get('taskDefinition', '?'))}: {d.get('rolloutState', 'rollout state unknown')} "
        f"running {d.get('runningCount', 0)}/{d.get('desiredCount', 0)}, pending {d.get('pendingCount', 0)}, "
        f"failed {d.get('failedTasks', 0)}"
    )


def _settled(service: Mapping[str, Any], primary: Mapping[str, Any]) -> bool:
    # Without rolloutState (no circuit breaker on old services) ECS's own waiter rule applies: one deployment left
    # and every desired task running.
    return len(service.get("deployments", [])) == 1 and primary.get("runningCount") == primary.get(
        "desiredCount"
    )


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _family(arn: str) -> str:
    return _short(arn).rsplit(":", 1)[0]


def _rev(arn: str) -> int:
    return int(_short(arn).rsplit(":", 1)[1])


def _qualify(to: str, family: str) -> str:
    """`--to 7` means revision 7 of the service's family; FAMILY:REV and ARNs pass through."""
    return f"{family}:{to}" if to.isdigit() else to


# Fields ECS sets on a registered revision that register_task_definition rejects or ignores.
_READ_ONLY = {
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
}


def with_image(
    td: Mapping[str, Any], image: str, container: str | None, service_model: Any
) -> dict[str, Any]:
    """register_task_definition arguments: every field the API accepts, copied, with only the image changed.

    The accepted fields come from botocore's model of the operation, so a field AWS adds later is copied too
    instead of being silently dropped from the new revision.
    """
    accepted = set(service_model.operation_model("RegisterTaskDefinition").input_shape.members)
    spec = {k: v for k, v in td.items() if k in accepted and k not in _READ_ONLY and v not in (None, [], {})}
    containers = [dict(c) for c in td.get("containerDefinitions", [])]
    target = _container_index(containers, container)
    containers[target]["image"] = image
    spec["containerDefinitions"] = containers
    return spec


def image_of(td: Mapping[str, Any], container: str | None) -> str:
    containers = list(td.get("containerDefinitions", []))
    return containers[_container_index(containers, container)].get("image", "") if containers else ""


def _container_index(containers: Sequence[Mapping[str, Any]], name: str | None) -> int:
    names = [c.get("name") for c in containers]
    if name:
        if name not in names:
            raise UsageError(
                f"The task definition has no container named {name!r} (it has: {', '.join(map(str, names))}).",
                hint="Pass --container with one of them (or fix the terraform output container_name).",
            )
        return names.index(name)
    if len(containers) == 1:
        return 0
    essential = [i for i, c in enumerate(containers) if c.get("essential", True)]
    if len(essential) == 1:
        return essential[0]
    raise UsageError(
        f"The task definition has several containers ({', '.join(map(str, names))}) and billingops "
        "cannot tell which one runs the application image.",
        hint="Pass --container NAME (or set the terraform output container_name).",
    )
