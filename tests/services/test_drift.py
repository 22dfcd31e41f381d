"""drift: a tiny module applied with real terraform against moto, then changed behind terraform's back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from billingops.config import load_settings
from billingops.terraform.drift import MASK, last_drift_check, parse_plan, record_check
from tests.services.conftest import client

MODULE = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
  backend "local" {}
}
variable "moto_url" { type = string }
variable "environment" { type = string }
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  max_retries                 = 2
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {
    dynamodb = var.moto_url
    sts      = var.moto_url
  }
}
resource "aws_dynamodb_table" "ledger" {
  name         = "billing-${var.environment}-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
  tags = { team = "billing", environment = var.environment }
}
"""


@pytest.fixture
def drift_project(tmp_path, moto, tf_env):
    module = tmp_path / "tf"
    (module / "envs").mkdir(parents=True)
    (module / "main.tf").write_text(MODULE)
    (module / "envs" / "dev.tfvars").write_text(f'environment = "dev"\nmoto_url = "{moto.url}"\n')
    (module / "envs" / "dev.backend.hcl").write_text(f'path = "{tmp_path / "dev.tfstate"}"\n')
    (tmp_path / "billingops.toml").write_text(
        '[project]\nstate_dir = "state"\n[environments.dev]\ncloud = "aws"\nterraform_dir = "tf"\n'
    )
    settings = load_settings(tmp_path / "billingops.toml")
    from billingops.terraform.runner import Terraform

    tf = Terraform.for_env(settings.env("dev", "aws"))
    tf.init()
    tf.apply(tf.plan().planfile)
    return tmp_path


@pytest.mark.slow
def test_drift_none_then_a_tag_changed_behind_terraforms_back(run_cli, drift_project):
    clean = run_cli("drift", "--env", "dev", "--json", cwd=drift_project)
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["drift"] is False
    settings = load_settings(drift_project / "billingops.toml")
    checked = last_drift_check(settings, "dev", "aws")
    assert checked is not None and datetime.now(UTC) - checked < timedelta(minutes=5)

    dynamodb = client("dynamodb")
    arn = dynamodb.describe_table(TableName="billing-dev-ledger")["Table"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "someone-else"}])
    drifted = run_cli("drift", "--env", "dev", "--json", cwd=drift_project)
    assert drifted.returncode == 1, drifted.stderr
    report = json.loads(drifted.stdout)["reports"][0]
    changes = {c["attribute"]: c for item in report["drifted"] for c in item["changes"]}
    assert report["drifted"][0]["address"] == "aws_dynamodb_table.ledger"
    assert changes["tags.team"]["expected"] == "billing" and changes["tags.team"]["actual"] == "someone-else"


def test_parse_plan_masks_sensitive_values_and_reports_deletions():
    plan = {
        "resource_drift": [
            {
                "address": "aws_db_instance.main",
                "type": "aws_db_instance",
                "change": {
                    "actions": ["update"],
                    "before": {"password": "old-pw", "allocated_storage": 50, "tags": {"a": "1"}},
                    "after": {"password": "new-pw", "allocated_storage": 80, "tags": {"a": "1"}},
                    "before_sensitive": {"password": True},
                    "after_sensitive": {"password": True},
                },
            },
            {
                "address": "aws_s3_bucket.logs",
                "type": "aws_s3_bucket",
                "change": {"actions": ["delete"], "before": {"bucket": "x"}, "after": None},
            },
            {
                "address": "aws_sqs_queue.same",
                "type": "aws_sqs_queue",
                "change": {"actions": ["update"], "before": {"tags": {}}, "after": {"tags": None}},
            },
        ]
    }
    report = parse_plan(plan, "prod", "aws")
    assert [d.address for d in report.drifted] == ["aws_db_instance.main", "aws_s3_bucket.logs"]
    changes = {c.attribute: c for c in report.drifted[0].changes}
    assert changes["password"].expected == MASK and changes["password"].actual == MASK
    assert (changes["allocated_storage"].expected, changes["allocated_storage"].actual) == (50, 80)
    assert report.drifted[1].action == "delete"
    assert "old-pw" not in json.dumps([c.__dict__ for c in report.drifted[0].changes])


def test_last_drift_check_round_trip(tmp_path):
    settings = load_settings(None, cwd=tmp_path)
    assert last_drift_check(settings, "prod", "gcp") is None
    report = parse_plan({}, "prod", "gcp")
    record_check(settings, report)
    assert last_drift_check(settings, "prod", "gcp") is not None
    (settings.state_dir / "drift" / "prod-gcp.json").write_text("{not json")
    assert last_drift_check(settings, "prod", "gcp") is None
