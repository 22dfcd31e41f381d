"""Issue 15: the approval gate covers every stateful type the modules create and lists the destroy-safety
settings (read from the state side of the plan) of each resource a plan destroys or replaces."""

from __future__ import annotations

import pytest

from billingops.terraform.plan_summary import summarize
from tests.runs.test_approval_binding import MODULE, _project, _set_key
from tests.support.deploy_project import journals, step_outcomes

GATED = ("aws_elasticache_replication_group", "aws_elasticache_user_group", "aws_sns_topic", "aws_s3_bucket",
         "aws_db_instance", "aws_kms_key", "google_redis_instance", "google_sql_database_instance",
         "google_kms_key_ring", "google_kms_crypto_key", "google_secret_manager_secret", "google_storage_bucket")


@pytest.mark.parametrize("action", [["delete"], ["delete", "create"], ["create", "delete"]])
def test_every_stateful_type_of_the_modules_is_gated(action):
    plan = {"resource_changes": [{"address": f"{t}.x", "type": t, "mode": "managed", "change": {"actions": action}}
                                 for t in GATED]}
    assert [c.type for c in summarize(plan).dangerous] == list(GATED)


def test_the_summary_carries_the_destroy_safety_settings_from_the_state():
    before = {"deletion_protection": False, "skip_final_snapshot": True, "final_snapshot_identifier": None,
              "password": "never-shown"}
    plan = {"resource_changes": [
        {"address": "module.database.aws_db_instance.this", "type": "aws_db_instance", "mode": "managed",
         "change": {"actions": ["delete", "create"], "before": before, "after": {}}},
        {"address": "google_sql_database_instance.db", "type": "google_sql_database_instance", "mode": "managed",
         "change": {"actions": ["delete"], "before": {"deletion_protection": True,
                                                      "settings": [{"deletion_protection_enabled": True}]}}},
    ]}
    doc = summarize(plan).to_dict()
    assert doc["destroy_safety"] == {
        "module.database.aws_db_instance.this": {"deletion_protection": False, "skip_final_snapshot": True,
                                                 "final_snapshot_identifier": None,
                                                 "delete_automated_backups": None},
        "google_sql_database_instance.db": {"deletion_protection": True,
                                            "settings.deletion_protection_enabled": True},
    }
    assert "never-shown" not in str(doc)


_STS = '    sts      = "%(moto)s"\n'
GATE_MODULE = MODULE.replace(_STS, _STS + '    sns      = "%(moto)s"\n') + """
resource "aws_sns_topic" "alerts" {
  name = "billing-alerts-${var.hash_key}"
}
"""


@pytest.mark.slow
def test_the_gate_refuses_a_topic_replacement_and_lists_the_safety_settings(tmp_path, tf_env, moto, run_cli,
                                                                           monkeypatch):
    import tests.runs.test_approval_binding as binding

    monkeypatch.setattr(binding, "MODULE", GATE_MODULE)
    project = _project(tmp_path / "p", moto.url, "id")
    first = run_cli("deploy", "--env", "dev", "--yes", "--json", cwd=project)
    assert step_outcomes(journals(project)[-1])["apply"] == "ok", first.stderr[-3000:]

    _set_key(project, "pk")  # replaces the table and the topic
    refused = run_cli("deploy", "--env", "dev", "--yes", "--json", cwd=project, env={"COLUMNS": "400"})
    assert refused.returncode == 4, refused.stderr[-3000:]
    text = " ".join(refused.stderr.split())
    assert "aws_sns_topic.alerts (replace; no destroy-safety setting)" in text, text[-3000:]
    assert "aws_dynamodb_table.db (replace; deletion_protection_enabled=false)" in text, text[-3000:]
