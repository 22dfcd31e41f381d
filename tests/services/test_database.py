"""db backups / db restore on RDS (moto server) and Cloud SQL (the v1beta4 REST fake), through the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from billingops.clouds.database import BackupsView, check_restore_request, parse_time
from billingops.errors import Refused, UsageError
from tests.services.conftest import client


def test_aws_backups_lists_snapshots_and_window(run_cli, aws_platform):
    client("rds").create_db_snapshot(
        DBInstanceIdentifier=aws_platform.db_instance, DBSnapshotIdentifier="before-v2"
    )
    result = run_cli(
        "db",
        "backups",
        "--env",
        "staging",
        "--cloud",
        "aws",
        "--db-instance",
        aws_platform.db_instance,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["pitr_enabled"] is True and view["retention_days"] == 7
    assert view["latest_restorable_time"] and view["earliest_restorable_time"]
    assert "before-v2" in [b["id"] for b in view["backups"]]
    table = run_cli("db", "backups", "--env", "staging", "--db-instance", aws_platform.db_instance)
    assert "point-in-time restore window" in table.stdout and "before-v2" in table.stdout


def test_aws_restore_creates_a_new_instance_and_refuses_the_live_one(run_cli, aws_platform, tmp_path):
    base = [
        "db",
        "restore",
        "--env",
        "staging",
        "--db-instance",
        aws_platform.db_instance,
        "--poll-interval",
        "0.1",
    ]
    live = run_cli(*base, "--to", "latest", "--as", aws_platform.db_instance)
    assert live.returncode == 4 and "never writes over the live instance" in live.stderr
    result = run_cli(
        *base,
        "--to",
        "latest",
        "--as",
        "billing-staging-restore",
        "--json",
        env={"BILLINGOPS_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    restored = json.loads(result.stdout)
    assert restored["target"] == "billing-staging-restore" and restored["status"] == "available"
    described = client("rds").describe_db_instances(DBInstanceIdentifier="billing-staging-restore")[
        "DBInstances"
    ][0]
    assert described["DBInstanceStatus"] == "available"
    again = run_cli(*base, "--to", "latest", "--as", "billing-staging-restore")
    assert again.returncode == 4 and "already exists" in again.stderr
    audit = (tmp_path / "state" / "audit.jsonl").read_text()
    assert '"db.restore.end"' in audit and '"outcome":"ok"' in audit


def test_aws_restore_rejects_times_outside_the_window(run_cli, aws_platform):
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run_cli(
        "db",
        "restore",
        "--env",
        "staging",
        "--db-instance",
        aws_platform.db_instance,
        "--to",
        future,
        "--as",
        "x-restore",
    )
    assert result.returncode == 2 and "outside the restore window" in result.stderr
    bad = run_cli(
        "db",
        "restore",
        "--env",
        "staging",
        "--db-instance",
        aws_platform.db_instance,
        "--to",
        "yesterday",
        "--as",
        "x-restore",
    )
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr and "Traceback" not in bad.stderr


def test_missing_instance_is_a_clear_cloud_error(run_cli, aws_platform):
    result = run_cli("db", "backups", "--env", "staging", "--db-instance", "nope")
    assert result.returncode == 3 and "DBInstanceNotFound" in result.stderr


def test_gcp_backups_and_point_in_time_clone(run_cli, gcp_config, sql_fake):
    common = ["--env", "staging", "--config", str(gcp_config), "--db-instance", "billing-staging-postgres"]
    listed = run_cli("db", "backups", *common, "--json")
    assert listed.returncode == 0, listed.stderr
    view = json.loads(listed.stdout)
    assert view["cloud"] == "gcp" and view["pitr_enabled"] and len(view["backups"]) == 3
    assert view["backups"][0]["status"] == "SUCCESSFUL"
    when = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    restored = run_cli(
        "db",
        "restore",
        *common,
        "--to",
        when,
        "--as",
        "billing-staging-pitr",
        "--poll-interval",
        "0.05",
        "--json",
    )
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["status"] == "RUNNABLE"
    assert "RUNNING" in restored.stderr  # progress was shown while the operation ran
    clone = [r for r in sql_fake.requests if r.path.endswith("/clone")][0]
    context = clone.body["cloneContext"]
    assert context["destinationInstanceName"] == "billing-staging-pitr"
    assert parse_time(context["pointInTime"]) == parse_time(when)


def test_check_restore_request_rules():
    view = BackupsView("db", "aws", True, "2026-11-01T00:00:00Z", "2026-11-25T10:00:00Z", 7)
    with pytest.raises(Refused):
        check_restore_request(view, "db", "DB", None, False)
    with pytest.raises(UsageError):
        check_restore_request(view, "db", "new", parse_time("2026-10-01T00:00:00Z"), False)
    check_restore_request(view, "db", "new", parse_time("2026-11-20T00:00:00+02:00"), False)
    no_pitr = BackupsView("db", "aws", False, None, None, 0)
    with pytest.raises(UsageError, match="not enabled"):
        check_restore_request(no_pitr, "db", "new", parse_time("2026-11-20T00:00:00Z"), False)
