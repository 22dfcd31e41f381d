"""The terraform runner against the real terraform binary on a terraform_data module (no provider needed)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from billingops.errors import StateLocked, TerraformError
from billingops.terraform.messages import parse_lock_info
from billingops.terraform.plan_summary import summarize
from billingops.terraform.runner import Terraform
from tests.support.terraform import terraform_binary

MODULE = """
terraform {
  backend "local" {}
}
variable "size" {
  type = number
  validation {
    condition     = var.size < 100
    error_message = "size must be below 100."
  }
}
variable "rev" {
  type    = number
  default = 1
}
resource "terraform_data" "kept" {
  input = var.size
}
resource "terraform_data" "replaced" {
  triggers_replace = [var.rev]
}
resource "terraform_data" "slow" {
  count = var.size == 42 ? 1 : 0
  provisioner "local-exec" {
    command = "sleep 20"
  }
}
output "size" {
  value = terraform_data.kept.output
}
output "token" {
  value     = "tok-${var.size}-sensitive-value"
  sensitive = true
}
"""


def runner(tmp_path: Path, size: int, rev: int = 1) -> Terraform:
    module = tmp_path / "module"
    module.mkdir(exist_ok=True)
    (module / "main.tf").write_text(MODULE)
    (module / "vars.tfvars").write_text(f"size = {size}\nrev = {rev}\n")
    (module / "backend.hcl").write_text(f'path = "{tmp_path / "state.tfstate"}"\n')
    return Terraform(module, data_dir=tmp_path / "data", var_files=[module / "vars.tfvars"],
                     backend_config=[str(module / "backend.hcl")], env_name="dev")


def test_init_plan_apply_outputs_and_events(tmp_path, tf_env):
    tf = runner(tmp_path, 3)
    tf.init()
    assert not (tmp_path / "module" / ".terraform").exists()  # TF_DATA_DIR keeps the module clean
    events = []
    result = tf.plan(on_event=events.append)
    assert result.has_changes
    assert result.summary.add == 2 and result.summary.destroy == 0
    assert {"planned_change", "change_summary"} <= {e.get("type") for e in events}
    applied = tf.apply(result.planfile, on_event=events.append)
    assert applied.applied == 2 and applied.summary["add"] == 2
    assert applied.outputs == {"size": 3}  # the sensitive "token" is not in apply's report
    outputs = tf.outputs()
    assert outputs["size"] == 3
    again = tf.plan()
    assert not again.has_changes


def _counting_show(monkeypatch) -> list[Path]:
    shown: list[Path] = []
    real = Terraform.show_json

    def counted(self, planfile):
        shown.append(planfile)
        return real(self, planfile)

    monkeypatch.setattr(Terraform, "show_json", counted)
    return shown


def test_a_plan_of_creates_and_updates_is_summarised_from_its_event_stream(tmp_path, tf_env, monkeypatch):
    """Issue 17 (deploy overhead): no second terraform process (`show -json`) for the common plan."""
    shown = _counting_show(monkeypatch)
    tf = runner(tmp_path, 3)
    tf.init()
    first = tf.plan(need_plan_json=False)
    assert shown == [] and first.has_changes
    assert (first.summary.add, first.summary.change, first.summary.destroy) == (2, 0, 0)
    assert first.summary.by_type == {"terraform_data": {"create": 2}}
    tf.apply(first.planfile)
    update = runner(tmp_path, 4).plan(need_plan_json=False)
    assert shown == [] and (update.summary.add, update.summary.change, update.summary.destroy) == (0, 1, 0)
    assert update.summary.to_dict() == summarize(runner(tmp_path, 4).show_json(update.planfile)).to_dict()


def test_a_plan_that_replaces_or_destroys_is_read_from_the_saved_plan(tmp_path, tf_env, monkeypatch):
    """The destroy-safety settings the approval gate lists are only in the saved plan's `before` values."""
    tf = runner(tmp_path, 3)
    tf.init()
    tf.apply(tf.plan().planfile)
    shown = _counting_show(monkeypatch)
    result = runner(tmp_path, 4, rev=2).plan(need_plan_json=False)
    assert len(shown) == 1
    assert (result.summary.add, result.summary.change, result.summary.destroy, result.summary.replace) == (1, 1, 1, 1)
    assert "resource_changes" in result.plan_json and "planned_values" in result.plan_json


def test_plan_summary_from_real_show_json(tmp_path, tf_env):
    tf = runner(tmp_path, 3)
    tf.init()
    tf.apply(tf.plan().planfile)
    tf2 = runner(tmp_path, 4, rev=2)  # update "kept", replace "replaced"
    result = tf2.plan()
    summary = result.summary
    assert (summary.add, summary.change, summary.destroy, summary.replace) == (1, 1, 1, 1)
    assert summary.by_type == {"terraform_data": {"replace": 1, "update": 1}}
    assert summary.dangerous == []  # terraform_data holds no data
    # the same real plan, with the replaced resource's type renamed to a database: now dangerous
    plan = json.loads(json.dumps(result.plan_json))
    for rc in plan["resource_changes"]:
        if rc["address"] == "terraform_data.replaced":
            rc["type"] = "aws_db_instance"
    dangerous = summarize(plan).dangerous
    assert [c.address for c in dangerous] == ["terraform_data.replaced"]
    assert "stateful" in summarize(plan).headline()


def test_diagnostics_become_errors_with_the_message(tmp_path, tf_env):
    tf = runner(tmp_path, 500)
    tf.init()
    with pytest.raises(TerraformError) as info:
        tf.plan()
    assert "size must be below 100" in info.value.message
    assert info.value.exit_code == 3


def test_sensitive_outputs_are_registered_for_redaction(tmp_path, tf_env):
    from billingops import redact

    tf = runner(tmp_path, 5)
    tf.init()
    tf.apply(tf.plan().planfile)
    assert tf.outputs()["token"] == "tok-5-sensitive-value"
    assert redact.redact("leak tok-5-sensitive-value") == "leak ***"


def test_state_lock_error_carries_the_lock_info(tmp_path, tf_env):
    tf = runner(tmp_path, 42)
    tf.init()
    planfile = tf.plan().planfile
    holder = subprocess.Popen([terraform_binary(), "apply", "-input=false", "-auto-approve", str(planfile)],
                              cwd=tf.workdir, env=tf._env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        lockfile = tmp_path / ".state.tfstate.lock.info"
        deadline = time.monotonic() + 30
        while not lockfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lockfile.exists()
        with pytest.raises(StateLocked) as info:
            runner(tmp_path, 42).plan()
        err = info.value
        assert err.exit_code == 4
        assert err.lock_info["ID"] and err.lock_info["Operation"] == "OperationTypeApply"
        assert "billingops unlock --env dev" in err.hint
        assert "--resume" in err.hint
    finally:
        holder.kill()
        holder.wait()


def test_parse_lock_info():
    text = """Error: Error acquiring the state lock

Lock Info:
  ID:        9db590f1-b6fe-c5f2-2678-8804f089deba
  Path:      bucket/dev/terraform.tfstate
  Operation: OperationTypeApply
  Who:       alice@laptop
  Version:   1.11.4
  Created:   2026-11-25 10:00:00.000 +0000 UTC
  Info:
"""
    info = parse_lock_info(text)
    assert info["ID"] == "9db590f1-b6fe-c5f2-2678-8804f089deba"
    assert info["Who"] == "alice@laptop" and info["Path"] == "bucket/dev/terraform.tfstate"


def test_outputs_on_a_laptop_that_never_ran_deploy_initialise_the_data_folder(tmp_path, tf_env):
    """A fresh laptop has no data folder for the environment: reading outputs initialises it (and again when
    the backend settings changed) instead of ending with terraform's 'run terraform init' prose."""
    tf = runner(tmp_path, 7)
    tf.init()
    tf.apply(tf.plan().planfile)
    laptop = Terraform(tf.workdir, data_dir=tmp_path / "laptop-data", var_files=tf.var_files,
                       backend_config=tf.backend_config, env_name="dev")
    assert not laptop.initialised()
    assert laptop.outputs()["size"] == 7
    assert laptop.initialised()
    # The team moved the state: same data folder, new backend settings.
    moved = tmp_path / "moved.tfstate"
    moved.write_bytes((tmp_path / "state.tfstate").read_bytes())
    (tf.workdir / "moved.hcl").write_text(f'path = "{moved}"\n')
    laptop.backend_config = [str(tf.workdir / "moved.hcl")]
    assert laptop.outputs()["size"] == 7


def test_text_errors_lead_with_the_error_diagnostic_not_warnings(tmp_path, tf_env):
    tf = runner(tmp_path, 7)
    (tf.workdir / "main.tf").write_text(MODULE.replace('backend "local" {}', 'backend "local" {}\n  bogus = 1'))
    with pytest.raises(TerraformError) as caught:
        tf.init()
    message = caught.value.message
    assert message.startswith("terraform init failed: Error: Unsupported argument"), message
    assert "Warning" not in message
