"""Cloud Run rollout: a new revision with no traffic, gated on its own Ready condition, then traffic in steps,
each step gated on the health endpoint through the load balancer.

The module's ingress is INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER, so the run.app URLs (the service's and the
tagged revision's) refuse every request from the operator's machine: the health gate never goes there.
Before any traffic, the gate is the revision's Ready condition: Cloud Run marks a revision Ready only once its
startup probe (the module's `startup_probe`, an HTTP GET of the health path) passed, from inside Google, where
ingress does not apply. Where the module has a candidate path (`candidate_url`, `https://<domain>/__candidate`,
the load balancer's route to the revision tagged "candidate", open only to `candidate_source_ranges`), the new
revision is also health-checked there before it gets traffic. After each traffic step the health endpoint is
asked through the load balancer (`load_balancer_url`, `https://<domain>`); a failure puts the traffic back
where it was.

Traffic is always written explicitly per revision (never LATEST), and afterwards the serving revision is read
back from the service's traffic statuses: a service whose traffic is pinned elsewhere (a known trap with other
tools, which deploy a revision that then serves nothing) is re-pointed once, and fails clearly if it stays pinned.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from billingops.clouds.base import GCP_TIMEOUT, gcp_client_kwargs, gcp_errors
from billingops.clouds.gcp.readiness import app_index, probe_path, ready_state, refuse_run_app
from billingops.clouds.health import HealthChecker
from billingops.clouds.rollout import Fence, Progress, Revision, RolloutOutcome, Waiting, no_fence, output_value
from billingops.config import EnvConfig
from billingops.errors import ConfigError, StepFailed, UsageError

log = logging.getLogger(__name__)

CANDIDATE_TAG = "candidate"


class CloudRunRollout:
    cloud = "gcp"

    def __init__(self, services: Any, revisions: Any, *, project: str, region: str, service: str,
                 health_url: str | None = None, tag: str = CANDIDATE_TAG, candidate_url: str | None = None,
                 fence: Fence | None = None) -> None:
        self.services = services
        # Called before each UpdateService: raises (LockLost) once the run lost its deploy lock.
        self.fence = fence or no_fence
        self.revisions = revisions
        self.service = service
        self.name = f"projects/{project}/locations/{region}/services/{service}"
        self._health_url = health_url
        self.tag = tag
        self.candidate_url = candidate_url or None

    @classmethod
    def from_env(cls, env: EnvConfig, outputs: Mapping[str, Any], *, health_url: str | None = None,
                 fence: Fence | None = None) -> CloudRunRollout:
        from google.cloud import run_v2

        project = outputs.get("project_id") or env.gcp_project
        if not project:
            raise ConfigError("No GCP project is known for this environment.",
                              hint="Set [environments.<env>.gcp] project in billingops.toml or BILLINGOPS_GCP_PROJECT.")
        service = output_value(outputs, "service_name", what="the Cloud Run service", flag="--service")
        kwargs = gcp_client_kwargs(env, "run")
        return cls(run_v2.ServicesClient(**kwargs), run_v2.RevisionsClient(**kwargs), project=str(project),
                   region=str(outputs.get("region") or env.region), service=service,
                   health_url=health_url or outputs.get("load_balancer_url") or None,
                   candidate_url=outputs.get("candidate_url") or None, fence=fence)

    # -- reading -------------------------------------------------------------------------------------
    def get(self) -> Any:
        with gcp_errors(f"Reading Cloud Run service {self.name}"):
            return self.services.get_service(name=self.name, timeout=GCP_TIMEOUT)

    def health_base_url(self) -> str | None:
        """The load balancer's URL (or --url); never the run.app URL, which the module's ingress refuses."""
        return self._health_url or None

    def serving(self, svc: Any) -> dict[str, int]:
        """revision short name -> percent actually serving (LATEST resolved), from the traffic statuses."""
        from google.cloud import run_v2

        latest = _short(svc.latest_ready_revision)
        result: dict[str, int] = {}
        for status in svc.traffic_statuses:
            if status.percent <= 0:
                continue
            is_latest = status.type_ == run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
            revision = latest if is_latest else _short(status.revision)
            result[revision] = result.get(revision, 0) + status.percent
        return result

    def revision(self, name: str) -> Any:
        with gcp_errors(f"Reading Cloud Run revision {name}", hint="Check the revision name (`billingops status`)."):
            return self.revisions.get_revision(name=f"{self.name}/revisions/{_short(name)}", timeout=GCP_TIMEOUT)

    def current(self) -> Revision:
        serving = self.serving(self.get())
        if not serving:
            raise StepFailed(f"The Cloud Run service {self.service} serves no revision.",
                             hint="Roll out an image with `billingops rollout --image TAG`.")
        name = max(serving, key=serving.__getitem__)
        return Revision(name, _image(self.revision(name)))

    # -- changing ------------------------------------------------------------------------------------
    def deploy(self, image: str, *, health: HealthChecker | None, waiting: Waiting, canary: Sequence[int] = (100,),
               wait: bool = True, progress: Progress = print) -> RolloutOutcome:
        from google.cloud import run_v2

        began = time.monotonic()
        svc = self.get()
        before = self.serving(svc)
        previous = max(before, key=before.__getitem__) if before else ""
        if before == {previous: 100} and _image(self.revision(previous)) == image:
            progress(f"{previous} already serves {image} at 100%: nothing to roll out")
            return RolloutOutcome("gcp", self.service, "rollout", "unchanged", image, previous, previous,
                                  notes=[f"{previous} already serves {image}"])
        new = _revision_name(self.service, image)
        svc.template.revision = new
        if not svc.template.containers:
            raise StepFailed(f"The Cloud Run service {self.service} has no container in its template.",
                             hint="Run the deploy's apply step, which creates the service with its container.")
        svc.template.containers[app_index(svc.template)].image = image
        others = [t for t in self._kept_tags(svc, before) if t.tag != self.tag]
        svc.traffic = [*_targets(before), *others, run_v2.TrafficTarget(
            type_=run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION,
            revision=new, percent=0, tag=self.tag)]
        refuse_run_app(self._health_url, svc)
        progress(f"creating revision {new} with image {image}, no traffic, tag {self.tag!r}")
        try:
            svc = self._update(svc, waiting, f"Creating revision {new}")
        except StepFailed:
            # The revision did not become Ready (its startup probe failed): drop its tag, keep the traffic.
            self._restore(before, waiting)
            raise
        outcome = RolloutOutcome("gcp", self.service, "rollout", "created-no-traffic", image, previous, new)
        self._await_ready(new, before, waiting, progress, health)
        if health is not None and self.candidate_url:
            self._gate(health, self.candidate_url, before, waiting, progress,
                       f"revision {new} on the load balancer's candidate path (no traffic yet)")
        base = self.health_base_url() if health is not None else None
        if health is not None and not base:
            progress("no load balancer URL is known (terraform output load_balancer_url, or --url): the traffic "
                     "steps are not health-checked")
            outcome.notes.append("traffic steps not health-checked: no load balancer URL")
        for percent in canary:
            self._set_traffic(canary_split(new, percent, previous, before), waiting, progress,
                              f"traffic: {new} {percent}%")
            outcome.traffic_steps.append(percent)
            if health is not None and base:
                self._gate(health, base, before, waiting, progress,
                           f"service at {percent}% on {new} (through the load balancer)")
        self._ensure_serving(new, waiting, progress, outcome)
        outcome.status = "completed"
        outcome.seconds = round(time.monotonic() - began, 1)
        return outcome

    def rollback(self, *, to: str | None, waiting: Waiting, wait: bool = True,
                 progress: Progress = print) -> RolloutOutcome:
        began = time.monotonic()
        before = self.serving(self.get())
        current = max(before, key=before.__getitem__) if before else ""
        target = self.revision(to) if to else self._previous_of(current)
        name = _short(target.name)
        if before == {name: 100}:
            raise UsageError(f"The service {self.service} already serves {name} at 100%: nothing to roll back to.",
                             hint="Pass --to REVISION naming another revision.")
        self._set_traffic({name: 100}, waiting, progress, f"traffic: {name} 100% (was {_fmt(before)})")
        outcome = RolloutOutcome("gcp", self.service, "rollback", "completed", _image(target), current, name,
                                 traffic_steps=[100])
        self._ensure_serving(name, waiting, progress, outcome)
        outcome.seconds = round(time.monotonic() - began, 1)
        return outcome

    # -- helpers -------------------------------------------------------------------------------------
    def _update(self, svc: Any, waiting: Waiting, action: str) -> Any:
        from google.api_core import exceptions as gexc
        from google.api_core.retry import Retry
        from google.cloud import run_v2

        polling = Retry(initial=waiting.poll, maximum=max(waiting.poll * 4, waiting.poll), multiplier=1.5,
                        timeout=waiting.timeout)
        self.fence(f"{action} on Cloud Run service {self.service}")
        with gcp_errors(f"{action} on Cloud Run service {self.service}",
                        hint="Nothing else was changed; check the revision's logs, fix the cause and retry."):
            operation = self.services.update_service(request=run_v2.UpdateServiceRequest(service=svc),
                                                     timeout=GCP_TIMEOUT)
            try:
                return operation.result(timeout=waiting.timeout, polling=polling)
            except gexc.GoogleAPICallError as exc:
                # The operation itself failed (a revision that does not start): the service keeps its traffic.
                raise StepFailed(f"{action} failed on Cloud Run service {self.service}: {exc.message}.",
                                 hint="Traffic was not changed. Check the revision's logs (`gcloud run revisions "
                                      "describe`), fix the image and roll out again.") from None
            except TimeoutError:
                raise StepFailed(f"{action}: the Cloud Run operation did not finish within {waiting.timeout:.0f} s.",
                                 hint="Raise --timeout; `billingops status` shows the service.") from None

    def _set_traffic(self, split: Mapping[str, int], waiting: Waiting, progress: Progress, message: str) -> Any:
        svc = self.get()
        svc.traffic = _targets(split) + self._kept_tags(svc, split)
        progress(message)
        return self._update(svc, waiting, message)

    def _kept_tags(self, svc: Any, split: Mapping[str, int]) -> list[Any]:
        """Tags survive traffic moves as 0% targets: the engineers' own tags always, the candidate tag while its
        revision is part of the split (a stable URL for the new revision; dropped when it is rolled back)."""
        from google.cloud import run_v2

        kept = []
        for target in svc.traffic:
            if not target.tag or (target.tag == self.tag and _short(target.revision) not in split):
                continue
            kept.append(run_v2.TrafficTarget(type_=target.type_, revision=target.revision, percent=0, tag=target.tag))
        return kept

    def _gate(self, health: HealthChecker, url: str, before: Mapping[str, int], waiting: Waiting,
              progress: Progress, what: str) -> None:
        result = health.check(url, on_attempt=lambda r: progress(
            f"health {r.url}: {r.status or r.error}" + ("" if r.ok else " (retrying)")))
        if not result.ok:
            self._restore(before, waiting)
            raise StepFailed(f"The health gate failed for {what}: {result.describe()}. Traffic was put back on "
                             f"{_fmt(before)}.", hint="Check the revision's logs, fix the image and roll out again.")

    def _await_ready(self, new: str, before: Mapping[str, int], waiting: Waiting, progress: Progress,
                     health: HealthChecker | None) -> None:
        """The gate before traffic: the revision's Ready condition, which Cloud Run sets once the startup probe
        passed. Poll while it is pending; a failed or never-ready revision gets no traffic (tag dropped)."""
        ends = time.monotonic() + waiting.timeout
        revision = self.revision(new)
        if health is not None and probe_path(revision) != health.path:
            probe = probe_path(revision)
            progress(f"warning: revision {new} has " + (f"a startup probe on {probe}" if probe else
                     "no HTTP startup probe") + f", not on {health.path}: Ready says only that it started")
        while True:
            state, message = ready_state(revision)
            if state == "CONDITION_SUCCEEDED":
                progress(f"revision {new} is Ready (startup probe {probe_path(revision) or 'TCP'} passed), "
                         "no traffic yet")
                return
            if state == "CONDITION_FAILED" or time.monotonic() >= ends:
                self._restore(before, waiting)
                if state == "CONDITION_FAILED":
                    why = message or "its Ready condition failed"
                else:
                    why = f"still not Ready after {waiting.timeout:.0f} s ({message or state or 'no condition'})"
                raise StepFailed(f"Revision {new} did not become Ready: {why}. It got no traffic; traffic stays on "
                                 f"{_fmt(before)}.",
                                 hint="Check the revision's logs (`gcloud run revisions describe`), fix the image "
                                      "and roll out again.")
            time.sleep(waiting.poll)
            revision = self.revision(new)

    def _restore(self, before: Mapping[str, int], waiting: Waiting) -> None:
        if before:
            self._set_traffic(before, waiting, lambda _m: None, f"restoring traffic to {_fmt(before)}")

    def _ensure_serving(self, revision: str, waiting: Waiting, progress: Progress, outcome: RolloutOutcome) -> None:
        """Read back what serves; re-point once if traffic stayed pinned elsewhere, then fail clearly."""
        serving = self.serving(self.get())
        if serving == {revision: 100}:
            return
        progress(f"traffic still goes to {_fmt(serving)} instead of {revision}: re-pointing it")
        outcome.notes.append(f"traffic was pinned to {_fmt(serving)} after the update and was re-pointed")
        self._set_traffic({revision: 100}, waiting, progress, f"traffic: {revision} 100% (again)")
        serving = self.serving(self.get())
        if serving != {revision: 100}:
            raise StepFailed(
                f"Cloud Run still serves {_fmt(serving)} after traffic was set to {revision} 100% twice: something "
                "pins the service's traffic (another deploy tool, or a traffic setting in terraform).",
                hint=f"Check `gcloud run services describe {self.service}` and the terraform traffic block, then run "
                     f"`billingops rollback --to {revision}` (or another revision) to set traffic explicitly.")

    def _previous_of(self, current: str) -> Any:
        with gcp_errors(f"Listing revisions of Cloud Run service {self.service}"):
            revisions = list(self.revisions.list_revisions(parent=self.name, timeout=GCP_TIMEOUT))
        by_name = {_short(r.name): r for r in revisions}
        if current not in by_name:
            raise StepFailed(f"The serving revision {current!r} is not among the service's revisions.",
                             hint="Pass --to REVISION.")
        older = [r for r in revisions if _short(r.name) != current and _ready(r)
                 and _created(r) < _created(by_name[current])]
        if not older:
            raise UsageError(f"No ready revision of {self.service} is older than {current}: nothing to roll back to.",
                             hint="Pass --to REVISION, or roll forward with `billingops rollout --image`.")
        return max(older, key=_created)


def canary_split(new: str, percent: int, previous: str, before: Mapping[str, int]) -> dict[str, int]:
    """Traffic for one canary step: `percent` to the new revision, the rest to what served before, pro rata."""
    if percent >= 100 or not before:
        return {new: 100}
    rest = 100 - percent
    total = sum(before.values())
    split = {name: rest * share // total for name, share in before.items()}
    split[previous] = split.get(previous, 0) + rest - sum(split.values())
    split = {k: v for k, v in split.items() if v > 0}
    split[new] = percent
    return split


def _targets(split: Mapping[str, int]) -> list[Any]:
    from google.cloud import run_v2

    kind = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
    return [run_v2.TrafficTarget(type_=kind, revision=name, percent=percent) for name, percent in split.items()]


def _revision_name(service: str, image: str) -> str:
    """`<service>-<tag slug>-<random>`: Cloud Run wants the service name as prefix and at most 63 characters."""
    reference = re.split(r"[:@]", image.rsplit("/", 1)[-1], maxsplit=1)[-1].removeprefix("sha256:")
    slug = re.sub(r"[^a-z0-9]+", "-", reference.lower()).strip("-")[:12].strip("-") or "image"
    suffix = f"{slug}-{secrets.token_hex(2)}"
    return f"{service[:63 - len(suffix) - 1]}-{suffix}"


def _image(revision: Any) -> str:
    return revision.containers[0].image if revision.containers else ""


def _ready(revision: Any) -> bool:
    return any(c.type_ == "Ready" and c.state.name == "CONDITION_SUCCEEDED" for c in revision.conditions)


def _created(revision: Any) -> float:
    return revision.create_time.timestamp() if revision.create_time else 0.0


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1] if name else ""


def _fmt(split: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {percent}%" for name, percent in split.items()) or "no revision"

