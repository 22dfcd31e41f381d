"""billingops status against moto server (ECS, RDS, ElastiCache) and the GCP REST fakes."""

from __future__ import annotations

import json

import pytest
import requests

from billingops.runs.audit import AuditLog
from billingops.services.status import last_deploy
from tests.services.conftest import client

RUN_SERVICE = {
    "name": "projects/billingops-test/locations/us-central1/services/billing-staging",
    "latestReadyRevision": "projects/billingops-test/locations/us-central1/services/billing-staging/"
    "revisions/"
    "billing-staging-00007-abc",
    "reconciling": False,
    "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED"},
    "template": {
        "scaling": {"minInstanceCount": 1, "maxInstanceCount": 5},
        "containers": [{"image": "us-central1-docker.pkg.dev/p/billing/app:v7"}],
    },
    "trafficStatuses": [
        {
            "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
            "revision": "billing-staging-00007-abc",
            "percent": 100,
        }
    ],
}


def test_status_aws_shows_every_section(run_cli, aws_platform, tmp_path):
    state = tmp_path / "state"
    audit = AuditLog(state / "audit.jsonl")
    audit.record("deploy.start", env="staging", cloud="aws", run_id="r1", image="v1.2.3")
    audit.record("deploy.end", env="staging", cloud="aws", run_id="r1", outcome="ok")
    audit.record("deploy.start", env="prod", cloud="aws", run_id="r2")
    result = run_cli(
        "status",
        "--env",
        "staging",
        "--cloud",
        "aws",
        *aws_platform.flags(),
        "--json",
        env={"BILLINGOPS_STATE_DIR": str(state)},
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    service = status["service"]["data"]
    assert service["desired"] == 2 and service["name"] == "billing-staging"
    assert aws_platform.image in service["serving"]
    database = status["database"]["data"]
    assert database["status"] == "available" and database["engine_version"].startswith("postgres 15")
    assert database["high_availability"] is False and database["allocated_gb"] == 50.0
    assert database["latest_restorable_time"]
    assert status["cache"]["data"]["node_type"] == "cache.t3.medium"
    assert status["cache"]["data"]["failover"].startswith("none")
    assert status["last_deploy"]["data"] == {
        "run_id": "r1",
        "started": status["last_deploy"]["data"]["started"],
        "who": status["last_deploy"]["data"]["who"],
        "image": "v1.2.3",
        "ended": status["last_deploy"]["data"]["ended"],
        "outcome": "ok",
    }
    # the state lock cannot be read here (no state bucket in moto); that shows as unknown, not as a crash
    assert status["state_lock"]["data"] is not None or status["state_lock"]["unknown"]
    screen = run_cli("status", "--env", "staging", *aws_platform.flags(), env={"BILLINGOPS_STATE_DIR": str(state)})
    assert screen.returncode == 0
    for word in ("service", "database", "cache", "state lock", "last deploy", "billing-staging-postgres"):
        assert word in screen.stdout


def test_status_shows_storage_used_from_cloudwatch(aws_platform, moto):
    from datetime import UTC, datetime

    from billingops.clouds.aws.database import AwsDatabase

    client("cloudwatch").put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "FreeStorageSpace",
                "Value": 5 * 1024**3,
                "Unit": "Bytes",
                "Timestamp": datetime.now(UTC),
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": aws_platform.db_instance}],
            }
        ],
    )
    info = AwsDatabase(client("rds"), client("cloudwatch")).describe(aws_platform.db_instance)
    assert info.used_gb == 45.0 and info.used_percent == 90.0


def test_status_unknown_sections_do_not_hide_the_others(run_cli, aws_platform):
    result = run_cli(
        "status",
        "--env",
        "staging",
        "--cluster",
        aws_platform.cluster,
        "--service",
        "missing",
        "--db-instance",
        aws_platform.db_instance,
        "--cache-id",
        aws_platform.cache_id,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert "missing" in status["service"]["unknown"]
    assert status["database"]["data"]["status"] == "available"


@pytest.mark.slow  # every section retries the dead endpoint before giving up (~35 s)
def test_status_exit_3_when_nothing_can_be_read(run_cli, aws_platform):
    result = run_cli(
        "status",
        "--env",
        "staging",
        "--cluster",
        "c",
        "--service",
        "s",
        "--db-instance",
        "d",
        "--cache-id",
        "x",
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
    )
    assert result.returncode == 3
    assert "unknown" in result.stdout and "Traceback" not in result.stderr


def test_status_gcp_service_database_and_cache(sql_fake):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import run_v2

    from billingops.clouds.gcp.status import GcpStatus

    sql_fake.route(
        "GET",
        r"/v2/projects/billingops-test/locations/us-central1/services/billing-staging",
        lambda fake, request: (200, RUN_SERVICE),
    )
    sql_fake.route(
        "GET",
        r"/v1/projects/billingops-test/locations/us-central1/instances/billing-staging-redis",
        lambda fake, request: (
            200,
            {
                "name": "billing-staging-redis",
                "state": "READY",
                "tier": "STANDARD_HA",
                "memorySizeGb": 4,
                "redisVersion": "REDIS_7_0",
            },
        ),
    )
    run = run_v2.ServicesClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=sql_fake.url),
        credentials=AnonymousCredentials(),
    )
    adapter = GcpStatus(run, "billingops-test", "us-central1", http=requests.Session(), redis_api=sql_fake.url + "/v1")
    service = adapter.service("billing-staging")
    assert service.healthy is True and "billing-staging-00007-abc 100%" in service.serving
    assert "app:v7" in service.serving and service.desired == "1-5 (autoscaled)"
    cache = adapter.cache("billing-staging-redis")
    assert cache.available and "STANDARD_HA" in cache.failover and cache.node_type == "4 GB"


def test_status_gcp_through_the_cli(run_cli, gcp_config, sql_fake):
    from tests.support import gcp_fake_run

    gcp_fake_run.install(sql_fake)  # the rollout work's Cloud Run fake, on the same server as Cloud SQL
    gcp_fake_run.seed_service(
        sql_fake,
        "billingops-test",
        "us-central1",
        "billing-staging",
        image="us-central1-docker.pkg.dev/p/billing/app:v3",
        revision="billing-staging-00003-xyz",
    )
    result = run_cli(
        "status",
        "--env",
        "staging",
        "--config",
        str(gcp_config),
        "--service",
        "billing-staging",
        "--db-instance",
        "billing-staging-postgres",
        "--cache-id",
        "billing-staging-redis",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["cloud"] == "gcp"
    service = status["service"]["data"]
    assert "billing-staging-00003-xyz 100%" in service["serving"] and "app:v3" in service["serving"]
    assert status["database"]["data"]["high_availability"] is True
    assert status["database"]["data"]["used_gb"] == 40.0
    assert status["cache"]["unknown"]  # Memorystore needs real Google credentials: reported, not invented


def test_last_deploy_picks_the_latest_run_of_the_env():
    records = [
        {"event": "deploy.start", "env": "prod", "cloud": "aws", "run_id": "a", "ts": "1"},
        {"event": "deploy.end", "env": "prod", "cloud": "aws", "run_id": "a", "outcome": "ok", "ts": "2"},
        {"event": "deploy.start", "env": "prod", "cloud": "aws", "run_id": "b", "ts": "3"},
        {"event": "deploy.start", "env": "prod", "cloud": "gcp", "run_id": "c", "ts": "4"},
    ]
    assert last_deploy(records, "prod", "aws")["run_id"] == "b"
    assert last_deploy(records, "prod", "aws")["outcome"] == "running or interrupted"
    assert last_deploy(records, "staging", "aws") is None


@pytest.mark.slow
def test_status_watch_refreshes_until_interrupted(aws_platform, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    argv = [sys.executable, "-m", "billingops", "status", "--env", "staging", *aws_platform.flags()]
    proc = subprocess.Popen(
        [*argv, "--watch", "--interval", "1", "--json"],
        cwd=tmp_path,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and sum('"checked_at"' in line for line in lines) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    proc.wait(timeout=30)
    reader.join(timeout=10)
    assert sum('"checked_at"' in line for line in lines) >= 2, err
    assert proc.returncode == 0 and "stopped watching" in err
