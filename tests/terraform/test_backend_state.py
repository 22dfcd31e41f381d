"""The S3 backend config of each environment, used by a real `terraform init/apply` against moto: state written
under the environment's key, encrypted with the environment's own KMS key (kms_key_id), locked with S3 native
locking (use_lockfile) and no DynamoDB table."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest

from tests.support.terraform import terraform_binary

from .conftest import ENVS, TERRAFORM, load_hcl, terraform_env

# Nothing but a value: apply writes a state object without needing any provider.
ROOT = 'terraform {\n  backend "s3" {}\n}\n\noutput "marker" {\n  value = "state-object"\n}\n'


@pytest.mark.parametrize("env", ENVS)
def test_backend_config_is_lockfile_and_kms(env):
    config = load_hcl(TERRAFORM / "aws" / "envs" / f"{env}.backend.hcl")
    assert config["use_lockfile"] is True
    assert "dynamodb_table" not in config, "dynamodb_table is deprecated (Terraform 1.11): use_lockfile only"
    assert config["encrypt"] is True
    assert config["kms_key_id"].endswith(f":alias/billing-terraform-state-{env}")
    assert config["key"].startswith(f"{env}/")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_state_is_written_with_the_environments_key_and_lockfile(moto_server, tf_cli_config, tmp_path):
    moto_server.reset()
    env = "dev"
    config = load_hcl(TERRAFORM / "aws" / "envs" / f"{env}.backend.hcl")
    clients = {name: boto3.client(name, endpoint_url=moto_server.url, region_name=config["region"],
                                  aws_access_key_id="test", aws_secret_access_key="test")
               for name in ("s3", "kms")}
    clients["s3"].create_bucket(Bucket=config["bucket"])
    key_id = clients["kms"].create_key(Description="state dev")["KeyMetadata"]["KeyId"]
    alias = config["kms_key_id"].split(":", 5)[5]
    clients["kms"].create_alias(AliasName=alias, TargetKeyId=key_id)

    workdir = tmp_path / "root"
    workdir.mkdir()
    (workdir / "main.tf").write_text(ROOT)
    backend_file = Path(TERRAFORM / "aws" / "envs" / f"{env}.backend.hcl")
    tf_env = terraform_env(tf_cli_config, {"AWS_ENDPOINT_URL": moto_server.url})
    moto_flags = ["-backend-config=use_path_style=true", "-backend-config=skip_credentials_validation=true",
                  "-backend-config=skip_requesting_account_id=true", "-backend-config=skip_s3_checksum=true"]

    def tf(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([terraform_binary(), *args, "-no-color"], cwd=workdir, env=tf_env,
                              capture_output=True, text=True, timeout=120)

    init = tf("init", "-input=false", f"-backend-config={backend_file}", *moto_flags)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "deprecated" not in (init.stdout + init.stderr).lower()
    # A lock object held by someone else stops the apply: the backend locks with <key>.tflock.
    lock_key = config["key"] + ".tflock"
    clients["s3"].put_object(Bucket=config["bucket"], Key=lock_key,
                             Body=b'{"ID":"held-by-test","Operation":"OperationTypeApply","Who":"test"}')
    blocked = tf("apply", "-auto-approve", "-input=false", "-lock-timeout=0s")
    assert blocked.returncode != 0 and "state lock" in blocked.stderr.lower(), blocked.stdout + blocked.stderr
    clients["s3"].delete_object(Bucket=config["bucket"], Key=lock_key)

    apply = tf("apply", "-auto-approve", "-input=false")
    assert apply.returncode == 0, apply.stdout + apply.stderr

    head = clients["s3"].head_object(Bucket=config["bucket"], Key=config["key"])
    assert head["ServerSideEncryption"] == "aws:kms"
    # S3 answers the key's ARN; moto echoes the id the backend sent (the alias ARN): either names the env's key
    assert head["SSEKMSKeyId"].endswith(key_id) or head["SSEKMSKeyId"] == config["kms_key_id"], head["SSEKMSKeyId"]
    # the apply's own lock object was released
    keys = [o["Key"] for o in clients["s3"].list_objects_v2(Bucket=config["bucket"]).get("Contents", [])]
    assert keys == [config["key"]], keys
