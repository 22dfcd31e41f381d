"""`billingops deploy` of GCP into an empty project, end to end.

terraform itself is a recording shim here (tests/support/terraform_shim.py), and only terraform: the google
provider cannot be installed on this machine, so the real terraform cannot plan terraform/gcp. Everything else
is real: billingops as a subprocess, the Google client libraries against the REST fakes of Secret Manager,
Artifact Registry and Cloud Run (whose services.create refuses a revision whose secret has no version or whose
image is missing, as Cloud Run does), PostgreSQL for the migrations, an HTTP server as the load balancer.
"""

from __future__ import annotations

import json
import os
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.services.rollout.conftest import App
from tests.support import gcp_fake_artifactregistry, gcp_fake_run, gcp_fake_secretmanager, servers, terraform_shim
from tests.support.deploy_project import journals, step_outcomes
from tests.support.gcp_fake import GcpFake

PROJECT, REGION = "billing-empty", "us-central1"
SERVICE_NAME = f"projects/{PROJECT}/locations/{REGION}/services/billing-dev"
NEW_REPO = f"{REGION}-docker.pkg.dev/{PROJECT}/billing-dev/billing"  # created by this apply
CI_REPO = f"{REGION}-docker.pkg.dev/{PROJECT}/ci/billing"  # an existing registry CI pushes to
SECRETS_ENV = {"BILLINGOPS_SECRET_STRIPE_API_KEY": "sk_test_first",
               "BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET": "whsec_1"}


@pytest.fixture(scope="module")
def pg():
    with servers.postgres_cluster("firstapply") as cluster:
        yield cluster


@pytest.fixture
def google():
    fake = GcpFake.start()
    gcp_fake_secretmanager.install(fake)
    gcp_fake_artifactregistry.install(fake)
    gcp_fake_run.install(fake)
    yield fake
    fake.stop()


@pytest.fixture
def lb():
    app = App()
    yield app
    app.stop()


def _project(root: Path, fake: GcpFake, lb: App, pg, *, image: str) -> tuple[Path, dict[str, str], Path]:
    (root / "tf" / "envs").mkdir(parents=True)
    (root / "tf" / "main.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    (root / "tf" / "envs" / "dev.tfvars").write_text(
        f'environment = "dev"\nproject_id = "{PROJECT}"\nregion = "{REGION}"\nimage = "{image}"\n')
    (root / "tf" / "envs" / "dev.backend.hcl").write_text(f'path = "{root / "state" / "dev.tfstate"}"\n')
    (root / "migrations").mkdir()
    (root / "migrations" / "0001_invoices.sql").write_text("CREATE TABLE invoices (id bigint PRIMARY KEY);\n")
    (root / "billingops.toml").write_text(textwrap.dedent(f"""
        [project]
        state_dir = ".billingops"

        [environments.dev]
        cloud = "gcp"
        terraform_dir = "tf"
        domain_name = "billing.dev.example.com"
        health_path = "/health"
        migrations_dir = "migrations"

        [environments.dev.gcp]
        project = "{PROJECT}"
        region = "{REGION}"

        [environments.dev.gcp.endpoints]
        run = "{fake.url}"
        secretmanager = "{fake.url}"
        artifactregistry = "{fake.url}"
        """))
    log = terraform_shim.install(root / "bin", root / "shim", fake_url=fake.url, project=PROJECT, region=REGION,
                                 image=image, load_balancer_url=f"{lb.url}/svc")
    env = {**SECRETS_ENV, "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "BILLINGOPS_DATABASE_URL": pg.createdb(f"first_{uuid.uuid4().hex[:8]}"),
           "BILLINGOPS_ROLLOUT_POLL": "0.05", "BILLINGOPS_HEALTH_TIMEOUT": "5"}
    return root, env, log


def _plans_and_applies(log: Path) -> list[str]:
    kept = []
    for argv in terraform_shim.calls(log):
        if argv[0] == "plan":
            kept.append("plan " + " ".join(a.split("=", 1)[1] for a in argv if a.startswith("-target=")))
        elif argv[0] == "apply":
            name = Path(argv[-1]).name  # <run id>.tfplan, <run id>-base.tfplan, <run id>-rest.tfplan
            kept.append("apply " + (name.rsplit("-", 1)[-1] if "-base" in name or "-rest" in name else "full"))
    return [k.strip() for k in kept]


def test_first_deploy_into_an_empty_project_applies_in_phases_and_serves(tmp_path, google, lb, pg, run_cli):
    """Fails on the single apply: Cloud Run refuses the service while the app secrets have no version."""
    gcp_fake_artifactregistry.push(google, CI_REPO, "v1")
    gcp_fake_artifactregistry.push(google, CI_REPO, "v2")
    project, env, log = _project(tmp_path / "p", google, lb, pg, image=f"{CI_REPO}:v1")

    result = run_cli("deploy", "--env", "dev", "--yes", "--image", f"{CI_REPO}:v2", "--json", cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    outcomes = {s["name"]: s["outcome"] for s in doc["steps"]}
    assert outcomes == dict.fromkeys(
        ("preflight", "init", "plan", "approval", "apply", "secrets", "migrate", "rollout", "verify"), "ok")
    steps = {s["name"]: s["detail"] for s in doc["steps"]}
    assert "first apply in phases" in steps["plan"] and "secret(s) the service mounts" in steps["plan"]
    assert "phase 1/4" in result.stderr and "phase 4/4" in result.stderr

    targets = ("google_project_service.this module.cache module.database module.kms module.network "
               "module.registry module.secrets")
    assert _plans_and_applies(log) == ["plan", f"plan {targets}", "apply base.tfplan", "plan", "apply rest.tfplan"]
    run = journals(project)[-1]
    assert run["data"]["first_apply"]["phases"] == dict.fromkeys(("base", "secrets", "image", "service"), "ok")
    hows = [a["how"] for a in run["approvals"]]
    assert hows == ["--yes", "--yes", "within the approved plan of this run"]

    # the service exists, serves the rolled-out image, and every secret it mounts has a version
    serving = gcp_fake_run.serving(google, SERVICE_NAME)
    assert list(serving.values()) == [100]
    revision = google.state["run"]["revisions"][f"{SERVICE_NAME}/revisions/{next(iter(serving))}"]
    assert revision["containers"][0]["image"] == f"{CI_REPO}:v2"
    secrets = google.state["secretmanager"]
    assert all(entry["versions"] for entry in secrets.values()), sorted(secrets)
    assert gcp_fake_secretmanager.payloads(google, f"projects/{PROJECT}/secrets/billing-dev-stripe-api-key") == [
        b"sk_test_first"]
    assert not google.state["run"]["frontend_requests"]  # the gate never asked a run.app URL


def test_missing_image_stops_after_the_base_and_resume_finishes(tmp_path, google, lb, pg, run_cli):
    project, env, log = _project(tmp_path / "p", google, lb, pg, image=f"{NEW_REPO}:v1")

    dry = run_cli("deploy", "--env", "dev", "--dry-run", "--json", cwd=project, env=env)
    assert dry.returncode == 0, dry.stderr
    plan_detail = {s["name"]: s["detail"] for s in json.loads(dry.stdout)["steps"]}["plan"]
    assert "first apply in phases" in plan_detail and f"{NEW_REPO}:v1 is not in Artifact Registry" in plan_detail

    first = run_cli("deploy", "--env", "dev", "--yes", cwd=project, env=env)
    assert first.returncode != 0
    assert f"docker push {NEW_REPO}:v1" in first.stderr and "--resume" in first.stderr
    run = journals(project)[-1]
    assert step_outcomes(run)["apply"] == "failed"
    assert run["data"]["first_apply"]["phases"] == {"base": "ok", "secrets": "ok"}
    assert SERVICE_NAME not in google.state["run"]["services"]  # never created half-ready
    assert all(entry["versions"] for entry in google.state["secretmanager"].values())

    gcp_fake_artifactregistry.push(google, NEW_REPO, "v1")  # the operator pushes the image into the new registry
    second = run_cli("deploy", "--env", "dev", "--yes", "--resume", "--json", cwd=project, env=env)
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    assert doc["run_id"] == run["run_id"]
    assert {s["name"]: s["outcome"] for s in doc["steps"]}["verify"] == "ok"
    assert gcp_fake_run.serving(google, SERVICE_NAME)  # created, Ready and serving
    assert not [p for p in Path(project / ".billingops").rglob("*.tfplan")]  # no plan (secrets in clear) left
