"""Cloud Run rollout with the real google.cloud.run_v2 clients over REST against the Cloud Run fake.

The fake answers as Cloud Run with the module's settings does: its run.app URLs refuse requests from outside
(ingress INTERNAL_LOAD_BALANCER: 404), a new revision is Ready only when its startup probe on /health passes.
`app.url + "/svc"` is the load balancer (https://<domain>), the only URL the health gate may use.
"""

from __future__ import annotations

import pytest

from billingops.clouds.gcp.rollout import CloudRunRollout, canary_split
from billingops.clouds.health import HealthChecker
from billingops.clouds.rollout import Waiting
from billingops.errors import StepFailed, UsageError
from tests.services.rollout.conftest import PROJECT, REGION, SERVICE, SERVICE_NAME
from tests.support import gcp_fake_run

OLD = "us-central1-docker.pkg.dev/billing-proj/app/billing:v1"
NEW = "us-central1-docker.pkg.dev/billing-proj/app/billing:v2"
FAST = Waiting(timeout=10, poll=0.05)


def _adapter(fake, app=None, **kwargs) -> CloudRunRollout:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import run_v2

    opts = {
        "transport": "rest",
        "client_options": ClientOptions(api_endpoint=fake.url),
        "credentials": AnonymousCredentials(),
    }
    return CloudRunRollout(
        run_v2.ServicesClient(**opts),
        run_v2.RevisionsClient(**opts),
        project=PROJECT,
        region=REGION,
        service=SERVICE,
        **({"health_url": f"{app.url}/svc"} if app is not None else {}),
        **kwargs,
    )


def _health(deadline: float = 1.0) -> HealthChecker:
    return HealthChecker("/health", deadline=deadline, interval=0.05, request_timeout=2)


def _patches(fake) -> list:
    return [r for r in fake.requests if r.method == "PATCH"]


def _run_app_requests(fake) -> list:
    return fake.state["run"]["frontend_requests"]


def _candidate_tag(fake) -> list:
    return [t for t in fake.state["run"]["services"][SERVICE_NAME]["traffic"] if t.get("tag") == "candidate"]


def test_run_app_urls_of_a_load_balancer_only_service_refuse_outside_requests(run_fake, app):
    """The fake's own behaviour the gate depends on: Google's 404 page, not the app's answer."""
    import urllib.error
    import urllib.request

    svc = gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(svc["uri"] + "/health", timeout=5)
    assert refused.value.code == 404 and b"Error 404 (Not Found)" in refused.value.read()
    assert not app.paths  # the request never reached a revision

    open_svc = gcp_fake_run.seed_service(run_fake, PROJECT, REGION, "billing-open", image=OLD,
                                         ingress=gcp_fake_run.ALL)
    with urllib.request.urlopen(open_svc["uri"] + "/health", timeout=5) as answer:
        assert answer.status == 200


def test_healthy_rollout_passes_the_gate_without_touching_run_app(run_fake, app):
    """Fails on the code that probed the tagged run.app URL: the module's ingress refuses it (404)."""
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    messages: list[str] = []
    outcome = _adapter(run_fake, app).deploy(NEW, health=_health(), waiting=FAST, progress=messages.append)

    assert _run_app_requests(run_fake) == []
    assert app.paths == ["/svc/health"]  # the load balancer, after the traffic step
    assert any(f"revision {outcome.current} is Ready (startup probe /health passed)" in m for m in messages)

    first = _patches(run_fake)[0].body
    new = outcome.current
    assert first["template"]["revision"] == new and first["template"]["containers"][0]["image"] == NEW
    traffic = [gcp_fake_run._normalise(t) for t in first["traffic"]]
    assert {"type": gcp_fake_run.REVISION, "revision": "billing-dev-00001-abc", "percent": 100} in traffic
    assert {
        "type": gcp_fake_run.REVISION,
        "revision": new,
        "tag": "candidate",
    } in traffic  # percent 0: omitted
    revision = run_fake.state["run"]["revisions"][f"{SERVICE_NAME}/revisions/{new}"]
    assert revision["conditions"] == [{"type": "Ready", "state": "CONDITION_SUCCEEDED"}]
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {new: 100}
    assert outcome.previous == "billing-dev-00001-abc" and outcome.status == "completed"
    assert outcome.traffic_steps == [100]


def test_revision_whose_startup_probe_fails_is_not_ready_and_gets_no_traffic(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    app.default = 503  # every new revision's /health
    app.health["billing-dev-00001-abc"] = 200
    with pytest.raises(StepFailed, match="Creating revision .* failed.*not ready.*startup probe.*503"):
        _adapter(run_fake, app).deploy(NEW, health=_health(0.3), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}
    failed = [r for r in run_fake.state["run"]["revisions"].values() if r["containers"][0]["image"] == NEW]
    assert failed[0]["conditions"][0]["state"] == "CONDITION_FAILED"
    assert not _candidate_tag(run_fake) and not app.paths and not _run_app_requests(run_fake)


def test_revision_that_is_not_ready_after_the_update_gets_no_traffic(run_fake, app, monkeypatch):
    """The Ready condition is read back, not inferred from the operation: a failed condition stops the rollout."""
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    real_add = gcp_fake_run._add_revision

    def add_then_fail(state, svc, revision, container, *, failure=""):
        real_add(state, svc, revision, container, failure=failure)
        if container.get("image") == NEW:  # the operation succeeded, the revision's condition says otherwise
            state["revisions"][f"{svc['name']}/revisions/{revision}"]["conditions"] = [
                {"type": "Ready", "state": "CONDITION_FAILED", "message": "Container import failed."}]

    monkeypatch.setattr(gcp_fake_run, "_add_revision", add_then_fail)
    with pytest.raises(StepFailed, match="did not become Ready: Container import failed.*billing-dev-00001-abc 100%"):
        _adapter(run_fake, app).deploy(NEW, health=_health(0.3), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}
    assert not _candidate_tag(run_fake) and not app.paths


def test_load_balancer_probe_failing_after_full_traffic_puts_traffic_back(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    app.service_status = 502  # the revision starts (startup probe passes), the load balancer answers 502
    with pytest.raises(StepFailed, match="service at 100%.*load balancer.*502.*billing-dev-00001-abc 100%"):
        _adapter(run_fake, app).deploy(NEW, health=_health(0.3), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}
    assert set(app.paths) == {"/svc/health"} and not _run_app_requests(run_fake)


def test_candidate_path_of_the_load_balancer_is_checked_before_any_traffic(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    outcome = _adapter(run_fake, app, candidate_url=f"{app.url}/cand").deploy(
        NEW, health=_health(), waiting=FAST, canary=[50, 100], progress=lambda m: None)
    assert app.paths == ["/cand/health", "/svc/health", "/svc/health"]
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {outcome.current: 100}
    assert not _run_app_requests(run_fake)


def test_candidate_failing_on_the_load_balancer_gets_no_traffic(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    app.candidate_status = 502  # Ready (its startup probe passed), but it fails real requests
    with pytest.raises(StepFailed, match="candidate path.*502.*billing-dev-00001-abc 100%"):
        _adapter(run_fake, app, candidate_url=f"{app.url}/cand").deploy(
            NEW, health=_health(0.3), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}
    assert not _candidate_tag(run_fake) and "/svc/health" not in app.paths


def test_a_run_app_health_url_is_refused_before_anything_changes(run_fake, app):
    svc = gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    run_app = "https://billing-dev-abc123-uc.a.run.app"
    with pytest.raises(UsageError, match="run.app URL.*INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"):
        _adapter(run_fake, health_url=run_app).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)
    assert not _patches(run_fake) and svc["uri"]


def test_canary_moves_traffic_in_steps_with_health_checks_between(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    outcome = _adapter(run_fake, app).deploy(
        NEW, health=_health(), waiting=FAST, canary=[10, 50, 100], progress=lambda m: None
    )
    splits = [
        {t["revision"]: t["percent"] for t in p.body["traffic"] if t.get("percent")}
        for p in _patches(run_fake)[1:]
    ]
    new = outcome.current
    assert splits == [
        {"billing-dev-00001-abc": 90, new: 10},
        {"billing-dev-00001-abc": 50, new: 50},
        {new: 100},
    ]
    assert app.paths == ["/svc/health"] * 3  # through the load balancer after each step, the last one too
    assert outcome.traffic_steps == [10, 50, 100]


def test_canary_step_that_fails_its_health_check_puts_traffic_back(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    app.service_status = 500
    with pytest.raises(StepFailed, match="service at 10%"):
        _adapter(run_fake, app).deploy(
            NEW, health=_health(0.3), waiting=FAST, canary=[10, 100], progress=lambda m: None
        )
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}


def test_service_on_latest_traffic_ends_pinned_to_the_new_revision(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD, pinned=False)
    outcome = _adapter(run_fake, app).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {outcome.current: 100}


def test_traffic_left_pinned_on_the_old_revision_is_detected_and_repointed(run_fake, app):
    """The trap other tools fall into: the update succeeds but the old revision keeps serving."""
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    run_fake.state["run"]["ignore_traffic"] = 1  # the first traffic move is silently not applied
    messages: list[str] = []
    outcome = _adapter(run_fake, app).deploy(NEW, health=_health(), waiting=FAST, progress=messages.append)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {outcome.current: 100}
    assert any("still goes to billing-dev-00001-abc 100%" in m for m in messages)
    assert outcome.notes and "pinned" in outcome.notes[0]


def test_traffic_that_stays_pinned_fails_clearly(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    run_fake.state["run"]["ignore_traffic"] = -1
    with pytest.raises(StepFailed, match="still serves billing-dev-00001-abc 100%.*pins"):
        _adapter(run_fake, app).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)


def test_revision_that_never_gets_ready_fails_without_moving_traffic(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    run_fake.state["run"]["fail_images"].add(NEW)
    with pytest.raises(StepFailed, match="Creating revision .* failed .*failed to start"):
        _adapter(run_fake, app).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}


def test_rollback_moves_traffic_to_the_previous_revision(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    adapter = _adapter(run_fake, app)
    new = adapter.deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None).current
    assert adapter.current().name == new and adapter.current().image == NEW

    outcome = adapter.rollback(to=None, waiting=FAST, progress=lambda m: None)
    assert outcome.previous == new and outcome.current == "billing-dev-00001-abc" and outcome.image == OLD
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}

    back = adapter.rollback(to=new, waiting=FAST, progress=lambda m: None)
    assert back.current == new and gcp_fake_run.serving(run_fake, SERVICE_NAME) == {new: 100}


def test_rollback_with_nothing_older_is_a_usage_error(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    with pytest.raises(UsageError, match="No ready revision"):
        _adapter(run_fake).rollback(to=None, waiting=FAST, progress=lambda m: None)


def test_rollback_to_an_unknown_revision_fails_and_changes_nothing(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    with pytest.raises(Exception, match="404"):
        _adapter(run_fake).rollback(to="billing-dev-nope", waiting=FAST, progress=lambda m: None)
    assert not _patches(run_fake)


def test_canary_split_keeps_the_rest_on_what_served_before():
    assert canary_split("new", 10, "a", {"a": 100}) == {"a": 90, "new": 10}
    assert canary_split("new", 50, "a", {"a": 80, "b": 20}) == {"a": 40, "b": 10, "new": 50}
    assert canary_split("new", 100, "a", {"a": 100}) == {"new": 100}


def test_the_engineers_own_tags_survive_a_rollout(run_fake, app):
    svc = gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    svc["traffic"].append({"type": gcp_fake_run.REVISION, "revision": "billing-dev-00001-abc", "tag": "stable"})
    outcome = _adapter(run_fake, app).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)
    traffic = run_fake.state["run"]["services"][SERVICE_NAME]["traffic"]
    tags = {t.get("tag"): (t.get("revision"), t.get("percent", 0)) for t in traffic if t.get("tag")}
    assert tags == {"stable": ("billing-dev-00001-abc", 0), "candidate": (outcome.current, 0)}


def test_rolling_out_the_image_that_already_serves_changes_nothing(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    outcome = _adapter(run_fake).deploy(OLD, health=_health(), waiting=FAST, progress=lambda m: None)
    assert outcome.status == "unchanged" and outcome.current == outcome.previous == "billing-dev-00001-abc"
    assert not _patches(run_fake)
