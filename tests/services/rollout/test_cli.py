"""The CLI as a user runs it: `billingops rollout` / `rollback` in a subprocess."""

from __future__ import annotations

import json

import pytest

from tests.services.rollout.conftest import PROJECT, REGION, SERVICE, SERVICE_NAME
from tests.support import gcp_fake_artifactregistry, gcp_fake_run

AR_REPO = "us-central1-docker.pkg.dev/billing-proj/app/billing"
ECR_REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing"
FLAGS = ("--env", "dev", "--cloud", "aws", "--cluster", "billing-dev", "--service", "billing-dev")


def test_rollout_and_rollback_help(run_cli):
    for command, words in (
        ("rollout", ("--image", "--canary", "--timeout", "--dry-run")),
        ("rollback", ("--to", "--timeout")),
    ):
        result = run_cli(command, "--help")
        assert result.returncode == 0, result.stderr
        assert all(word in result.stdout for word in words)


@pytest.mark.parametrize(
    "image, expected",
    [
        ("v1 2", "whitespace"),
        ("-bad", "not a valid image tag"),
        ("v" * 129, "not a valid image tag"),
        ("acme/billing", "no tag or digest"),
        (f"{ECR_REPO}@sha256:xyz", "malformed digest"),
        ("Acme/Billing:v1", "not a valid repository"),
        (":v1", "not a valid repository"),
        ("", "--image is empty"),
    ],
)
def test_bad_image_is_exit_2_with_a_clear_message(run_cli, image, expected):
    result = run_cli("rollout", *FLAGS, "--image", image, env={"BILLINGOPS_IMAGE_REPOSITORY": ECR_REPO})
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert "--image" in result.stderr  # names the option, and the accepted forms
    assert "REPOSITORY:TAG" in result.stderr


@pytest.mark.parametrize("canary", ["10,x", "50,10,100", "10,50", "0,100", "10,10,100"])
def test_bad_canary_is_exit_2(run_cli, canary):
    result = run_cli("rollout", *FLAGS, "--image", "v2", "--canary", canary)
    assert result.returncode == 2 and "--canary" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def gcp_config(tmp_path, run_fake):
    gcp_fake_artifactregistry.install(run_fake)
    path = tmp_path / "billingops.toml"
    path.write_text(f"""
[environments.dev]
cloud = "gcp"
health_path = "/health"

[environments.dev.gcp]
project = "{PROJECT}"
region = "{REGION}"
image_repository = "{AR_REPO}"

[environments.dev.gcp.endpoints]
run = "{run_fake.url}"
artifactregistry = "{run_fake.url}"
""")
    return {"BILLINGOPS_CONFIG": str(path)}


# --no-lock: the deploy lock lives next to the terraform state (a GCS bucket), which these tests do not have.
GCP = ("--env", "dev", "--service", SERVICE, "--poll-interval", "0.05", "--health-timeout", "2", "--no-lock")


def _lb(app) -> tuple[str, str]:
    """--url: the load balancer (https://<domain> in a real project); the run.app URLs refuse outside requests."""
    return ("--url", f"{app.url}/svc")


def test_gcp_rollout_then_rollback_end_to_end(run_cli, run_fake, app, gcp_config, tmp_path):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=f"{AR_REPO}:v1")
    digest = gcp_fake_artifactregistry.push(run_fake, AR_REPO, "v2")

    result = run_cli("rollout", *GCP, *_lb(app), "--image", "v2", "--canary", "25,100", "--json",
                     env=gcp_config)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    new = report["outcome"]["current"]
    assert report["image"] == f"{AR_REPO}:v2" and report["digest"] == digest
    assert report["outcome"]["previous"] == "billing-dev-00001-abc" and report["outcome"][
        "traffic_steps"
    ] == [25, 100]
    assert report["verify"]["ok"] and report["verify"]["status"] == 200
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {new: 100}

    back = run_cli("rollback", *GCP, *_lb(app), "--json", env=gcp_config)
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["outcome"]["current"] == "billing-dev-00001-abc"
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}

    events = [
        json.loads(line)["event"]
        for path in tmp_path.rglob("audit*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert events == ["rollout.start", "rollout.end", "rollback.start", "rollback.end"]


def test_gcp_missing_image_is_exit_2_and_touches_nothing(run_cli, run_fake, app, gcp_config):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=f"{AR_REPO}:v1")
    result = run_cli("rollout", *GCP, "--image", "v9", env=gcp_config)
    assert result.returncode == 2, result.stderr
    assert "does not exist in Artifact Registry: nothing was changed" in result.stderr
    assert not [r for r in run_fake.requests if r.method != "GET"]


def test_gcp_dry_run_shows_what_serves_and_changes_nothing(run_cli, run_fake, app, gcp_config):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=f"{AR_REPO}:v1")
    gcp_fake_artifactregistry.push(run_fake, AR_REPO, "v2")
    result = run_cli("rollout", *GCP, "--image", "v2", "--dry-run", "--json", env=gcp_config)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["current"] == {
        "revision": "billing-dev-00001-abc",
        "image": f"{AR_REPO}:v1",
    }
    assert not [r for r in run_fake.requests if r.method != "GET"]


def test_gcp_load_balancer_failure_after_the_traffic_step_is_exit_1_and_restored(run_cli, run_fake, app, gcp_config):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=f"{AR_REPO}:v1")
    gcp_fake_artifactregistry.push(run_fake, AR_REPO, "v2")
    app.service_status = 502  # the revision is Ready (startup probe), the load balancer answers 502
    result = run_cli("rollout", *GCP, *_lb(app), "--image", "v2", "--health-timeout", "1", env=gcp_config)
    assert result.returncode == 1, result.stderr
    assert "health gate failed" in result.stderr and "Traffic was put back" in result.stderr
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}


def test_prod_rollout_without_yes_is_refused_before_anything_changes(run_cli, run_fake, app, gcp_config):
    config = gcp_config["BILLINGOPS_CONFIG"]
    text = open(config).read().replace("environments.dev", "environments.prod")
    with open(config, "w") as fh:
        fh.write(text)
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=f"{AR_REPO}:v1")
    gcp_fake_artifactregistry.push(run_fake, AR_REPO, "v2")
    result = run_cli("rollout", "--env", "prod", "--service", SERVICE, "--image", "v2", "--no-lock",
                     env=gcp_config)
    assert result.returncode == 4, result.stderr
    assert "--yes" in result.stderr and "Traceback" not in result.stderr
    assert not [r for r in run_fake.requests if r.method != "GET"]


def test_deploy_rollout_step_on_gcp_rolls_out_and_records_it(tmp_path, run_fake, app, gcp_config, monkeypatch):
    from billingops.commands.common import Session
    from billingops.config import load_settings
    from billingops.console import Output
    from billingops.runs.checklist import StepContext
    from billingops.runs.journal import Journal
    from billingops.services.deploy import rollout_image

    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=f"{AR_REPO}:v1")
    gcp_fake_artifactregistry.push(run_fake, AR_REPO, "v3")
    monkeypatch.setenv("BILLINGOPS_ROLLOUT_POLL", "0.05")
    settings = load_settings(tmp_path / "billingops.toml")
    session = Session(settings=settings, output=Output(), env_name="dev", cloud=None, yes=True)
    journal = Journal.create(tmp_path / "runs", command="deploy", env="dev", cloud="gcp")
    ctx = StepContext(session=session, env=session.env(), journal=journal, output=session.output, image="v3")
    ctx.services["outputs"] = {"service_name": SERVICE, "project_id": PROJECT, "region": REGION,
                               "load_balancer_url": f"{app.url}/svc",
                               "service_url": "https://billing-dev-abc123-uc.a.run.app"}
    detail = rollout_image.run(ctx)
    new = ctx.data["rollout"]["current"]
    assert detail.startswith(f"{SERVICE}: billing-dev-00001-abc -> {new} (completed)")
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {new: 100}
    assert ctx.data["rollout"]["image"] == f"{AR_REPO}:v3"
