"""moto answering 500s or stalling, through a fault-injecting proxy: retries where safe, exit 3 naming what
failed where not, and every command ends within a bounded time."""

from __future__ import annotations

import json

import pytest

from tests.faults.conftest import id_flags, run_billingops

pytestmark = pytest.mark.slow

ENV = {"BILLINGOPS_SECRET_STRIPE_API_KEY": "sk_test_faults", "BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET": "whsec_f"}


def _injected(proxy, action: str) -> int:
    return sum(1 for line in proxy.log if line.startswith(action))


@pytest.mark.timeout(90)
def test_seed_rides_out_transient_500s(moto_proxy, aws_project):
    project, ids = aws_project
    moto_proxy.fail("secretsmanager.PutSecretValue", count=2)
    moto_proxy.fail("secretsmanager.GetSecretValue|secretsmanager.DescribeSecret", count=2)
    ran = run_billingops(
        project, "secrets", "seed", "--env", "dev", "--json", "--no-lock", *id_flags(ids), env=ENV, timeout=80
    )
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.result.stdout)["written"] == 3
    assert _injected(moto_proxy, "500") == 4, moto_proxy.log


@pytest.mark.timeout(120)
def test_seed_gives_up_with_exit_3_when_secrets_manager_keeps_failing(moto_proxy, aws_project):
    project, ids = aws_project
    moto_proxy.fail("secretsmanager.PutSecretValue")
    ran = run_billingops(project, "secrets", "seed", "--env", "dev", "--no-lock", *id_flags(ids), env=ENV, timeout=110)
    assert ran.code == 3, ran.stderr
    print(f"\n{ran.seconds:.1f}s: {ran.stderr.strip().splitlines()[-1]}")
    assert "Traceback" not in ran.stderr
    assert "secret" in ran.stderr.lower() and ("500" in ran.stderr or "InternalFailure" in ran.stderr), ran.stderr
    # bounded retries: standard mode makes 4 attempts per call, not an endless loop
    attempts = _injected(moto_proxy, "500")
    assert 1 <= attempts <= 4 * 3, moto_proxy.log
    assert ran.seconds < 100


@pytest.mark.timeout(150)
def test_a_stalled_secrets_manager_call_times_out_and_is_retried(moto_proxy, aws_project):
    """The first read stalls past botocore's read timeout (30 s): the client gives up on it and the retry
    succeeds; nothing waits for ever."""
    project, ids = aws_project
    moto_proxy.stall(
        "secretsmanager.DescribeSecret|secretsmanager.GetSecretValue|secretsmanager.ListSecretVersion",
        seconds=120,
        count=1,
    )
    ran = run_billingops(project, "secrets", "list", "--env", "dev", "--json", *id_flags(ids), env={}, timeout=140)
    assert ran.code == 0, ran.stderr
    assert _injected(moto_proxy, "stall") == 1, moto_proxy.log
    assert 25 < ran.seconds < 100, ran.seconds


@pytest.mark.timeout(150)
def test_status_with_every_aws_call_failing_is_exit_3_and_bounded(moto_proxy, aws_project):
    project, _ = aws_project
    moto_proxy.fail(".")
    ran = run_billingops(
        project,
        "status",
        "--env",
        "dev",
        "--cluster",
        "billing",
        "--service",
        "billing-dev",
        "--db-instance",
        "billing-dev-db",
        "--cache-id",
        "billing-dev-cache",
        env={},
        timeout=140,
    )
    assert ran.code == 3, ran.stderr
    print(f"\n{ran.seconds:.1f}s: {ran.stderr.strip().splitlines()[-1]}")
    assert "Traceback" not in ran.stderr
    assert ran.seconds < 120


@pytest.mark.timeout(150)
def test_rollout_with_ecr_failing_is_exit_3_and_changes_nothing(moto_proxy, aws_project):
    project, _ = aws_project
    moto_proxy.fail("AmazonEC2ContainerRegistry|ecr")
    ran = run_billingops(
        project,
        "rollout",
        "--env",
        "dev",
        "--image",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing:v1.2.3",
        "--cluster",
        "billing",
        "--service",
        "billing-dev",
        "--container",
        "app",
        "--url",
        "http://127.0.0.1:9",
        "--timeout",
        "20",
        "--health-timeout",
        "5",
        "--no-lock",
        env={},
        timeout=140,
    )
    assert ran.code == 3, ran.stderr
    print(f"\n{ran.seconds:.1f}s: {ran.stderr.strip().splitlines()[-1]}")
    assert "Traceback" not in ran.stderr
    assert "ecr" in ran.stderr.lower() or "registry" in ran.stderr.lower() or "image" in ran.stderr.lower()
    assert not any("ecs" in line.lower() and "UpdateService" in line for line in moto_proxy.log)


@pytest.mark.timeout(120)
def test_the_failing_secret_arn_is_printed_verbatim(moto_proxy, aws_project):
    project, ids = aws_project
    moto_proxy.fail("secretsmanager.PutSecretValue")
    ran = run_billingops(project, "secrets", "seed", "--env", "dev", "--no-lock", *id_flags(ids), env=ENV, timeout=110)
    assert ran.code == 3, ran.stderr
    assert ids["SECRET_KEY"] in ran.stderr, ran.stderr
