"""Saved plan files hold every planned value in clear (database password, Redis AUTH): none outlives its command.

Real terraform on a tiny local module (the built-in terraform_data resource, a local backend, no provider
download): `plan`, `drift` and a plan whose `terraform show` fails leave no file in the plans folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from billingops.config import load_settings
from billingops.errors import BillingOpsError

MODULE = """
terraform {
  backend "local" {}
}
variable "environment" { type = string }
variable "db_password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "db" {
  input = "${var.environment}:${var.db_password}"
}
"""


@pytest.fixture
def project(tmp_path, tf_env):
    module = tmp_path / "tf"
    (module / "envs").mkdir(parents=True)
    (module / "main.tf").write_text(MODULE)
    (module / "envs" / "dev.tfvars").write_text('environment = "dev"\ndb_password = "pw-in-the-plan"\n')
    (module / "envs" / "dev.backend.hcl").write_text(f'path = "{tmp_path / "dev.tfstate"}"\n')
    (tmp_path / "billingops.toml").write_text(
        '[project]\nstate_dir = "state"\n[environments.dev]\ncloud = "aws"\nterraform_dir = "tf"\n'
    )
    return tmp_path


def _plan_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name == "plans"]


@pytest.mark.slow
def test_plan_and_drift_commands_leave_no_plan_file(run_cli, project):
    planned = run_cli("plan", "--env", "dev", "--json", cwd=project)
    assert planned.returncode == 0, planned.stderr
    assert _plan_files(project) == []
    drift = run_cli("drift", "--env", "dev", "--json", cwd=project)
    assert drift.returncode in (0, 1), drift.stderr
    assert _plan_files(project) == []


@pytest.mark.slow
def test_a_plan_whose_show_fails_leaves_no_plan_file(project, monkeypatch):
    from billingops.terraform.runner import Terraform

    tf = Terraform.for_env(load_settings(project / "billingops.toml").env("dev", "aws"))
    tf.init()

    def broken_show(planfile: Path) -> dict:
        assert planfile.is_file()  # terraform wrote it
        raise BillingOpsError("terraform show failed")

    monkeypatch.setattr(tf, "show_json", broken_show)
    with pytest.raises(BillingOpsError):
        tf.plan()
    assert _plan_files(project) == []


@pytest.mark.slow
@pytest.mark.parametrize("args", [("--dry-run",), ()], ids=["dry-run", "refused-approval"])
def test_deploy_leaves_no_plan_file(tmp_path, tf_env, moto, run_cli, args):
    from tests.support.deploy_project import make_project

    project = make_project(tmp_path / "project")
    result = run_cli("deploy", "--env", "dev", *args, cwd=project)
    assert result.returncode in (0, 4), result.stderr
    assert "plan: " in result.stderr or "step plan: ok" in result.stderr
    assert _plan_files(project) == []
