"""Cloud Run rollout with the real google.cloud.run_v2 clients over REST against the Cloud Run fake."""

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


def _adapter(fake, **kwargs) -> CloudRunRollout:
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
        **kwargs,
    )


def _health(deadline: float = 1.0) -> HealthChecker:
    return HealthChecker("/health", deadline=deadline, interval=0.05, request_timeout=2)


def _patches(fake) -> list:
    return [r for r in fake.requests if r.method == "PATCH"]


def test_new_revision_gets_no_traffic_and_a_tag_before_the_health_gate(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    outcome = _adapter(run_fake).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)

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
    # The gate asked the tagged URL of the new revision before any traffic moved, then traffic moved.
    assert app.paths[0] == f"/rev/{new}/health"
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {new: 100}
    assert outcome.previous == "billing-dev-00001-abc" and outcome.status == "completed"
    assert outcome.traffic_steps == [100]


def test_failing_health_gate_leaves_traffic_on_the_old_revision(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    app.default = 503
    app.health["billing-dev-00001-abc"] = 200
    with pytest.raises(StepFailed, match="health gate failed.*503.*billing-dev-00001-abc 100%"):
        _adapter(run_fake).deploy(NEW, health=_health(0.3), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}
    assert all(p.startswith("/rev/billing-dev-") and "00001" not in p for p in app.paths)


def test_canary_moves_traffic_in_steps_with_health_checks_between(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    outcome = _adapter(run_fake).deploy(
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
    assert app.paths.count("/svc/health") == 2  # between the steps, not after the last (that is verify's job)
    assert outcome.traffic_steps == [10, 50, 100]


def test_canary_step_that_fails_its_health_check_puts_traffic_back(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    app.service_status = 500
    with pytest.raises(StepFailed, match="service at 10%"):
        _adapter(run_fake).deploy(
            NEW, health=_health(0.3), waiting=FAST, canary=[10, 100], progress=lambda m: None
        )
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}


def test_service_on_latest_traffic_ends_pinned_to_the_new_revision(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD, pinned=False)
    outcome = _adapter(run_fake).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {outcome.current: 100}


def test_traffic_left_pinned_on_the_old_revision_is_detected_and_repointed(run_fake, app):
    """The trap other tools fall into: the update succeeds but the old revision keeps serving."""
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    run_fake.state["run"]["ignore_traffic"] = 1  # the first traffic move is silently not applied
    messages: list[str] = []
    outcome = _adapter(run_fake).deploy(NEW, health=_health(), waiting=FAST, progress=messages.append)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {outcome.current: 100}
    assert any("still goes to billing-dev-00001-abc 100%" in m for m in messages)
    assert outcome.notes and "pinned" in outcome.notes[0]


def test_traffic_that_stays_pinned_fails_clearly(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    run_fake.state["run"]["ignore_traffic"] = -1
    with pytest.raises(StepFailed, match="still serves billing-dev-00001-abc 100%.*pins"):
        _adapter(run_fake).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)


def test_revision_that_never_gets_ready_fails_without_moving_traffic(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    run_fake.state["run"]["fail_images"].add(NEW)
    with pytest.raises(StepFailed, match="Creating revision .* failed .*failed to start"):
        _adapter(run_fake).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}


def test_rollback_moves_traffic_to_the_previous_revision(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    adapter = _adapter(run_fake)
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
    outcome = _adapter(run_fake).deploy(NEW, health=_health(), waiting=FAST, progress=lambda m: None)
    traffic = run_fake.state["run"]["services"][SERVICE_NAME]["traffic"]
    tags = {t.get("tag"): (t.get("revision"), t.get("percent", 0)) for t in traffic if t.get("tag")}
    assert tags == {"stable": ("billing-dev-00001-abc", 0), "candidate": (outcome.current, 0)}


def test_rolling_out_the_image_that_already_serves_changes_nothing(run_fake, app):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    outcome = _adapter(run_fake).deploy(OLD, health=_health(), waiting=FAST, progress=lambda m: None)
    assert outcome.status == "unchanged" and outcome.current == outcome.previous == "billing-dev-00001-abc"
    assert not _patches(run_fake)
