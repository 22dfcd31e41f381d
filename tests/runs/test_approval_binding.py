"""Issue 13 (1): an approval is bound to the plan it approved. A refused plan that replaces the database is
never applied by `--only apply`, `--from apply` or `--resume`: billingops refuses (exit 4) before terraform is
called. Real terraform (the AWS provider from the offline mirror) against moto; the module folder persists
between runs, as in a real environment, so terraform itself would apply the old plan if it were asked to."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import boto3
import pytest

from tests.support.deploy_project import journals, step_outcomes

MODULE = """
terraform {
  backend "local" {}
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "environment" {
  type = string
}

variable "hash_key" {
  type = string
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    dynamodb = "%(moto)s"
    sts      = "%(moto)s"
  }
}

# The "database": changing its hash key forces a replacement (a dangerous change of a stateful resource).
resource "aws_dynamodb_table" "db" {
  name         = "billing-${var.environment}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = var.hash_key
  attribute {
    name = var.hash_key
    type = "S"
  }
}
"""


def _project(root: Path, moto_url: str, hash_key: str) -> Path:
    (root / "tf" / "envs").mkdir(parents=True, exist_ok=True)
    (root / "tf" / "main.tf").write_text(MODULE % {"moto": moto_url})
    _set_key(root, hash_key)
    (root / "tf" / "envs" / "dev.backend.hcl").write_text(f'path = "{root / "state" / "dev.tfstate"}"\n')
    (root / "billingops.toml").write_text(textwrap.dedent("""
        [project]
        state_dir = ".billingops"

        [environments.dev]
        cloud = "aws"
        terraform_dir = "tf"
        domain_name = "billing.dev.example.com"
        """))
    return root


def _set_key(root: Path, hash_key: str) -> None:
    (root / "tf" / "envs" / "dev.tfvars").write_text(f'environment = "dev"\nhash_key = "{hash_key}"\n')


def _terraform_spy(bin_dir: Path, log: Path) -> None:
    """A `terraform` first on PATH that records its subcommand, then runs the real one."""
    real = next(str(Path(d) / "terraform") for d in os.environ["PATH"].split(os.pathsep)
                if (Path(d) / "terraform").is_file())
    bin_dir.mkdir()
    spy = bin_dir / "terraform"
    spy.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{real}" "$@"\n')
    spy.chmod(stat.S_IRWXU)


def _hash_key(moto_url: str) -> str:
    client = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1")
    table = client.describe_table(TableName="billing-dev")["Table"]
    return str(table["KeySchema"][0]["AttributeName"])


@pytest.mark.slow
def test_a_refused_replacement_of_the_database_is_never_applied(tmp_path, tf_env, moto, run_cli):
    project = _project(tmp_path / "p", moto.url, "id")
    calls = tmp_path / "terraform-calls.log"
    _terraform_spy(tmp_path / "bin", calls)
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}

    first = run_cli("deploy", "--env", "dev", "--yes", "--json", cwd=project, env=env)
    assert step_outcomes(journals(project)[-1])["apply"] == "ok", first.stderr[-3000:]
    assert _hash_key(moto.url) == "id"
    created = journals(project)[-1]["run_id"]

    _set_key(project, "pk")  # replaces the table
    refused = run_cli("deploy", "--env", "dev", "--yes", "--json", cwd=project, env=env)
    assert refused.returncode == 4, refused.stderr[-3000:]
    assert "--allow-destroy" in refused.stderr
    refused_run = journals(project)[-1]["run_id"]
    assert _hash_key(moto.url) == "id"

    for attempt in (["--only", "apply"], ["--from", "apply"], ["--resume", "--from", "apply"], ["--resume"]):
        calls.write_text("")
        result = run_cli("deploy", "--env", "dev", "--yes", "--json", *attempt, cwd=project, env=env)
        assert result.returncode == 4, (attempt, result.stderr[-3000:])
        assert "apply" not in calls.read_text().split(), (attempt, calls.read_text())  # refused before terraform
        assert _hash_key(moto.url) == "id", attempt

    # The plan refused with --yes alone is approved with --yes --allow-destroy, and that is what is recorded.
    approved = run_cli("deploy", "--env", "dev", "--yes", "--allow-destroy", "--json", cwd=project, env=env)
    run = journals(project)[-1]
    assert step_outcomes(run)["apply"] == "ok", approved.stderr[-3000:]
    assert run["approvals"][-1]["how"] == "--yes --allow-destroy"
    assert _hash_key(moto.url) == "pk"

    runs = {run["run_id"]: run for run in journals(project)}
    approvals = runs[created]["approvals"]
    assert [a["outcome"] for a in approvals] == ["passed"] and approvals[0]["how"] == "--yes"
    assert len(approvals[0]["plan_sha256"]) == 64 and "@" in approvals[0]["who"] and approvals[0]["when"]
    refused_run = runs[refused_run]
    assert step_outcomes(refused_run)["approval"] == "failed"
    assert {a["outcome"] for a in refused_run["approvals"]} == {"refused"}  # asked again on --resume: refused
    assert not any(Path(run["data"]["plan"]["planfile"]).exists() for run in runs.values())  # none left behind


def test_apply_refuses_a_plan_file_that_changed_after_its_approval(tmp_path):
    from billingops.errors import Refused
    from billingops.runs import approvals
    from billingops.runs.journal import Journal

    journal = Journal.create(tmp_path / "runs", command="deploy", env="dev", cloud="aws")
    planfile = tmp_path / "run.tfplan"
    planfile.write_bytes(b"approved plan")
    approvals.record(journal, planfile, how="--yes", outcome="passed")
    approvals.require(journal, planfile)  # the approved bytes pass
    planfile.write_bytes(b"another plan")
    with pytest.raises(Refused, match="not the plan that was approved"):
        approvals.require(journal, planfile)
    planfile.unlink()
    with pytest.raises(Refused):
        approvals.require(journal, planfile)
    fresh = Journal.create(tmp_path / "runs", command="deploy", env="dev", cloud="aws")
    planfile.write_bytes(b"approved plan")
    with pytest.raises(Refused, match="no approval"):
        approvals.require(fresh, planfile)  # an approval of another run does not count
    assert json.loads(journal.path.read_text())["approvals"][0]["outcome"] == "passed"


def test_an_earlier_commands_plan_is_never_applied_it_is_planned_and_approved_again(tmp_path, tf_env, run_cli):
    """A plan outlives no command (it holds secrets in clear): after `--only plan` and a state changed behind it,
    `--from approval` plans again, approves that plan's hash and applies it, never the earlier plan."""
    import subprocess

    from tests.support.deploy_project import make_project

    project = make_project(tmp_path / "p")
    assert run_cli("deploy", "--env", "dev", "--yes", "--only", "init", cwd=project).returncode == 0
    planned = run_cli("deploy", "--env", "dev", "--yes", "--only", "plan", cwd=project)
    assert planned.returncode == 0, planned.stderr[-2000:]
    # Someone changes the state behind the saved plan's back (same backend, same data dir).
    data_dir = project / ".billingops" / "terraform" / "aws-dev"
    subprocess.run(["terraform", "apply", "-auto-approve", "-input=false", "-var", "environment=other"],
                   cwd=project / "tf", env={**os.environ, "TF_DATA_DIR": str(data_dir)}, check=True,
                   capture_output=True, timeout=300)

    result = run_cli("deploy", "--env", "dev", "--yes", "--from", "approval", "--json", cwd=project)
    run = journals(project)[-1]
    assert step_outcomes(run)["apply"] == "ok", result.stderr[-3000:]
    assert "planning again" in result.stderr
    assert not list((project / ".billingops").rglob("tfplan*")), "no plan file outlives the command"
    passed = [a for a in run["approvals"] if a["outcome"] == "passed"]
    assert len(passed) == 1
    state = json.loads((project / "state" / "dev.tfstate").read_text())
    app = next(r for r in state["resources"] if r["name"] == "app")
    assert app["instances"][0]["attributes"]["input"]["value"] == "app-dev"  # the new plan was applied, not the old one
