"""`locks` / `unlock` against an S3 + DynamoDB state backend whose endpoint answers 500s: retried while
transient, a clear exit 3 when not, never a hang."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.faults.conftest import run_billingops

pytestmark = pytest.mark.slow


@pytest.fixture
def s3_project(tmp_path, moto_server, moto_proxy):
    import boto3

    kwargs = dict(
        endpoint_url=moto_server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket, table = f"tfstate-{uuid.uuid4().hex[:10]}", f"tf-locks-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", **kwargs).create_bucket(Bucket=bucket)
    boto3.client("dynamodb", **kwargs).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    (tmp_path / "tf" / "envs").mkdir(parents=True)
    (tmp_path / "tf" / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    (tmp_path / "tf" / "envs" / "dev.tfvars").write_text('environment = "dev"\n')
    (tmp_path / "tf" / "envs" / "dev.backend.hcl").write_text(
        f'bucket = "{bucket}"\nkey = "dev/terraform.tfstate"\nregion = "us-east-1"\n'
        f'endpoints = {{ s3 = "{moto_proxy.url}", dynamodb = "{moto_proxy.url}" }}\n'
        "use_path_style = true\nskip_credentials_validation = true\nskip_requesting_account_id = true\n"
        f'skip_metadata_api_check = true\naccess_key = "testing"\nsecret_key = "testing"\n'
        f'dynamodb_table = "{table}"\n'
    )
    (tmp_path / "billingops.toml").write_text(
        '[environments.dev]\ncloud = "aws"\nterraform_dir = "tf"\n[environments.dev.aws]\nregion = "us-east-1"\n'
    )
    return tmp_path


@pytest.mark.timeout(90)
def test_locks_rides_out_transient_500s(s3_project, moto_proxy):
    moto_proxy.fail("DynamoDB", count=2)
    moto_proxy.fail("GET /tfstate", count=2)
    ran = run_billingops(s3_project, "locks", "--env", "dev", "--json", env={}, timeout=80)
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.result.stdout)["locks"] == []
    assert sum(1 for line in moto_proxy.log if line.startswith("500")) >= 2, moto_proxy.log


@pytest.mark.timeout(120)
def test_locks_with_dynamodb_down_is_exit_3_and_bounded(s3_project, moto_proxy):
    moto_proxy.fail(".")
    ran = run_billingops(s3_project, "locks", "--env", "dev", env={}, timeout=110)
    assert ran.code == 3, ran.stderr
    print(f"\n{ran.seconds:.1f}s: {ran.stderr.strip().splitlines()[-1]}")
    assert "Traceback" not in ran.stderr
    assert "dynamodb" in ran.stderr.lower() or "s3" in ran.stderr.lower(), ran.stderr
    assert ran.seconds < 100


@pytest.mark.timeout(120)
def test_unlock_deploy_lock_with_the_backend_failing_is_exit_3(s3_project, moto_proxy):
    moto_proxy.fail(".")
    ran = run_billingops(
        s3_project, "unlock", "--env", "dev", "--deploy-lock", "--yes", "--older-than", "0s", env={}, timeout=110
    )
    assert ran.code == 3, ran.stderr
    print(f"\n{ran.seconds:.1f}s: {ran.stderr.strip().splitlines()[-1]}")
    assert "Traceback" not in ran.stderr
    assert ran.seconds < 100
