"""dr drill: restore into a scratch instance (moto RDS, Cloud SQL fake), count the core tables, time it."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from tests.services.conftest import client

CORE = ("customers", "plans", "subscriptions", "invoices", "invoice_lines", "payments")


@pytest.fixture
def restored_copy(views_pg):
    """A database standing in for the restored copy (moto's restored RDS instance has no real server)."""
    name = f"drill_{uuid.uuid4().hex[:8]}"
    views_pg.createdb(name)
    url = views_pg.url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        for index, table in enumerate(CORE):
            conn.execute(f"CREATE TABLE {table} (id int)")
            conn.execute(f"INSERT INTO {table} SELECT generate_series(1, {index + 1})")
    return url


def _audit(state):
    return [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]


def test_drill_aws_restores_checks_and_deletes(run_cli, aws_platform, restored_copy, tmp_path):
    state = tmp_path / "state"
    result = run_cli(
        "dr",
        "drill",
        "--env",
        "staging",
        "--db-instance",
        aws_platform.db_instance,
        "--as",
        "drill-copy",
        "--check-database-url",
        restored_copy,
        "--poll-interval",
        "0.1",
        "--json",
        env={"BILLINGOPS_STATE_DIR": str(state)},
    )
    assert result.returncode == 0, result.stderr
    drill = json.loads(result.stdout)
    assert drill["outcome"] == "passed" and drill["within_rto"] is True and drill["rto_seconds"] == 3600
    assert drill["row_counts"] == {
        "customers": 1,
        "plans": 2,
        "subscriptions": 3,
        "invoices": 4,
        "invoice_lines": 5,
        "payments": 6,
    }
    assert drill["scratch_deleted"] is True
    ids = [d["DBInstanceIdentifier"] for d in client("rds").describe_db_instances()["DBInstances"]]
    assert (
        "drill-copy" not in ids
        or client("rds").describe_db_instances(DBInstanceIdentifier="drill-copy")["DBInstances"][0][
            "DBInstanceStatus"
        ]
        == "deleting"
    )
    end = [r for r in _audit(state) if r["event"] == "dr.drill.end"][-1]
    assert end["outcome"] == "passed" and end["restore_seconds"] is not None
    assert "pg-test-pw" not in result.stdout + result.stderr  # the URL's password is never shown


def test_drill_keep_and_missing_tables_fail(run_cli, aws_platform, views_pg, tmp_path):
    empty = f"drill_{uuid.uuid4().hex[:8]}"
    views_pg.createdb(empty)
    result = run_cli(
        "dr",
        "drill",
        "--env",
        "staging",
        "--db-instance",
        aws_platform.db_instance,
        "--as",
        "kept-copy",
        "--keep",
        "--check-database-url",
        views_pg.url(empty),
        "--poll-interval",
        "0.1",
    )
    assert result.returncode == 1
    assert "missing tables" in result.stdout and "FAILED" in result.stdout
    kept = client("rds").describe_db_instances(DBInstanceIdentifier="kept-copy")["DBInstances"][0]
    assert kept["DBInstanceStatus"] == "available"


def test_drill_says_when_the_copy_cannot_be_reached(run_cli, aws_platform):
    result = run_cli(
        "dr",
        "drill",
        "--env",
        "staging",
        "--db-instance",
        aws_platform.db_instance,
        "--check-database-url",
        "postgresql://u:secretpw@127.0.0.1:9/x",
        "--poll-interval",
        "0.1",
    )
    assert result.returncode == 1
    assert "cannot connect to the restored copy" in result.stdout and "secretpw" not in result.stdout


def test_drill_refuses_prod_without_allow_prod(run_cli):
    result = run_cli("dr", "drill", "--env", "prod", "--db-instance", "billing-prod-postgres")
    assert result.returncode == 4 and "--allow-prod" in result.stderr


def test_drill_gcp_clone(run_cli, gcp_config, sql_fake, restored_copy, tmp_path):
    result = run_cli(
        "dr",
        "drill",
        "--env",
        "staging",
        "--config",
        str(gcp_config),
        "--db-instance",
        "billing-staging-postgres",
        "--check-database-url",
        restored_copy,
        "--poll-interval",
        "0.05",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    drill = json.loads(result.stdout)
    assert drill["cloud"] == "gcp" and drill["rto_seconds"] == 1800 and drill["outcome"] == "passed"
    deletes = [r for r in sql_fake.requests if r.method == "DELETE"]
    assert deletes and deletes[0].path.endswith("/instances/" + drill["scratch"])
