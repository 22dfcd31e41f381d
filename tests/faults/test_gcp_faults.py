"""The GCP fake answering 500s or stalling: the Google clients time out, never hang, and billingops exits 3
with a message naming what failed (Cloud Run rollout, Secret Manager seed, Cloud SQL backups)."""

from __future__ import annotations

import pytest

from tests.faults.conftest import GCP_PROJECT, gcp_project, gcp_secret_ids, id_flags, run_billingops
from tests.faults.proxy import FaultProxy
from tests.support import gcp_fake_artifactregistry, gcp_fake_run

pytestmark = pytest.mark.slow

AR_REPO = f"us-central1-docker.pkg.dev/{GCP_PROJECT}/app/billing"
SERVICE = "billing-dev"
SERVICE_NAME = f"projects/{GCP_PROJECT}/locations/us-central1/services/{SERVICE}"
ENV = {"BILLINGOPS_SECRET_STRIPE_API_KEY": "sk_test_faults", "BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET": "whsec_f"}
ROLLOUT = (
    "rollout",
    "--env",
    "dev",
    "--image",
    "v2",
    "--service",
    SERVICE,
    "--poll-interval",
    "0.05",
    "--health-timeout",
    "2",
    "--timeout",
    "20",
    "--no-lock",
)


@pytest.fixture
def run_proxy(gcp):
    proxy = FaultProxy.start(gcp.url)
    yield proxy
    proxy.stop()


def _run_project(tmp_path, gcp, run_proxy):
    """Cloud Run through the proxy, everything else straight to the fake; v1 serves, v2 is pushed."""
    gcp_fake_artifactregistry.install(gcp)
    gcp_project(tmp_path, gcp.url)
    text = (tmp_path / "billingops.toml").read_text()
    text = text.replace(f'run = "{gcp.url}"', f'run = "{run_proxy.url}"')
    text = text.replace('region = "us-central1"\n', f'region = "us-central1"\nimage_repository = "{AR_REPO}"\n', 1)
    (tmp_path / "billingops.toml").write_text(text)
    gcp_fake_run.seed_service(gcp, GCP_PROJECT, "us-central1", SERVICE, image=f"{AR_REPO}:v1")
    gcp_fake_artifactregistry.push(gcp, AR_REPO, "v2")
    return tmp_path


def _clear_failure(ran) -> None:
    assert ran.code == 3, ran.stderr
    print(f"\n{ran.seconds:.1f}s: {ran.stderr.strip().splitlines()[-1]}")
    assert "Traceback" not in ran.stderr
    assert ran.stderr.strip().splitlines()[-1].startswith("error:"), ran.stderr


@pytest.mark.timeout(120)
def test_seed_on_secret_manager_answering_500s_is_exit_3(tmp_path, gcp):
    gcp_project(tmp_path, gcp.url)
    ids = gcp_secret_ids(gcp)
    gcp.fail_next(1000)
    ran = run_billingops(tmp_path, "secrets", "seed", "--env", "dev", "--no-lock", *id_flags(ids), env=ENV, timeout=110)
    _clear_failure(ran)
    assert "secret" in ran.stderr.lower()
    assert ran.seconds < 100


@pytest.mark.timeout(120)
def test_db_backups_on_cloud_sql_answering_500s_is_exit_3(tmp_path, gcp):
    gcp_project(tmp_path, gcp.url)
    gcp.fail_next(1000)
    ran = run_billingops(
        tmp_path, "db", "backups", "--env", "dev", "--db-instance", "billing-dev-db", env={}, timeout=110
    )
    _clear_failure(ran)
    assert "billing-dev-db" in ran.stderr or "cloud sql" in ran.stderr.lower(), ran.stderr
    assert ran.seconds < 100


@pytest.mark.timeout(120)
def test_rollout_with_cloud_run_answering_500s_is_exit_3_and_traffic_unchanged(tmp_path, gcp, run_proxy):
    project = _run_project(tmp_path, gcp, run_proxy)
    run_proxy.fail(".")
    ran = run_billingops(project, *ROLLOUT, env={}, timeout=110)
    _clear_failure(ran)
    assert "cloud run" in ran.stderr.lower() or SERVICE in ran.stderr, ran.stderr
    assert gcp_fake_run.serving(gcp, SERVICE_NAME) == {f"{SERVICE}-00001-abc": 100}


@pytest.mark.timeout(120)
def test_rollout_survives_transient_cloud_run_read_errors(tmp_path, gcp, run_proxy):
    """A 503 on a read (get service) is retryable: the rollout still completes."""
    project = _run_project(tmp_path, gcp, run_proxy)
    rule = run_proxy.fail("GET ", count=1)
    rule.action = "503"
    ran = run_billingops(project, *ROLLOUT, "--url", "http://127.0.0.1:9", env={}, timeout=110)
    assert rule.hits == 1
    # either retried through (0) or a clear exit 3 — never a traceback or a hang
    assert ran.code in (0, 1, 3), ran.stderr
    assert "Traceback" not in ran.stderr


@pytest.mark.timeout(200)
def test_a_stalled_cloud_sql_is_a_bounded_exit_3(tmp_path, gcp):
    proxy = FaultProxy.start(gcp.url)
    try:
        gcp_project(tmp_path, proxy.url)
        proxy.stall(".", seconds=300)
        ran = run_billingops(
            tmp_path, "db", "backups", "--env", "dev", "--db-instance", "billing-dev-db", env={}, timeout=190
        )
    finally:
        proxy.stop()
    _clear_failure(ran)
    print(f"\nstalled Cloud SQL: exit {ran.code} after {ran.seconds:.0f}s: {ran.stderr.strip()[-300:]}")
    assert ran.seconds < 180


@pytest.mark.timeout(60)
@pytest.mark.parametrize("api", ["secretmanager", "run", "sqladmin"])
def test_an_unreachable_google_endpoint_is_exit_3(tmp_path, gcp, api):
    gcp_project(tmp_path, gcp.url)
    gcp_fake_artifactregistry.install(gcp)
    gcp_fake_artifactregistry.push(gcp, AR_REPO, "v2")
    text = (tmp_path / "billingops.toml").read_text().replace(f'{api} = "{gcp.url}"', f'{api} = "http://127.0.0.1:9"')
    (tmp_path / "billingops.toml").write_text(text)
    argv = {
        "secretmanager": ["secrets", "list", "--env", "dev", *id_flags(gcp_secret_ids(gcp))],
        "run": [
            "rollout",
            "--env",
            "dev",
            "--image",
            f"{AR_REPO}:v2",
            "--service",
            SERVICE,
            "--no-lock",
            "--timeout",
            "10",
        ],
        "sqladmin": ["db", "backups", "--env", "dev", "--db-instance", "billing-dev-db"],
    }[api]
    ran = run_billingops(tmp_path, *argv, env={}, timeout=50)
    _clear_failure(ran)
