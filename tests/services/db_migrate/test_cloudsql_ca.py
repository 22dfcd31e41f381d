"""Issue 13 (5) for `db migrate` on a GCP environment: without a CA, the Cloud SQL instance's server CA from the
SQL Admin API verifies the connection (tests/support/cloudsql_tls.py: a real TLS
PostgreSQL plays the instance; the SQL Admin wire fake describes it); --json and the audit say so."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import gcp_fake_sqladmin
from tests.support.cloudsql_tls import INSTANCE, PRIVATE_IP, PROJECT, target_url


def _project(root: Path, sqladmin: str) -> Path:
    (root / "migrations").mkdir()
    (root / "migrations" / "0001_a.sql").write_text("CREATE TABLE IF NOT EXISTS a (id int);")
    (root / "tf").mkdir()
    (root / "billingops.toml").write_text(
        '[environments.dev]\ncloud = "gcp"\nmigrations_dir = "migrations"\nterraform_dir = "tf"\n'
        f'[environments.dev.gcp]\nproject = "{PROJECT}"\n'
        f'[environments.dev.gcp.endpoints]\nsqladmin = "{sqladmin}"\n')
    return root


def _migrate(run_cli, project: Path, url: str):
    return run_cli("db", "migrate", "--env", "dev", "--direct", "--json", env={"BILLINGOPS_DATABASE_URL": url},
                   cwd=project)


def test_db_migrate_verifies_a_cloud_sql_instance_with_its_server_ca(run_cli, tmp_path, sql_fake, cloudsql_pg):
    gcp_fake_sqladmin.add_instance(sql_fake, PROJECT, INSTANCE, ip=PRIVATE_IP, server_ca_pem=cloudsql_pg.ca_pem)
    project = _project(tmp_path, sql_fake.url)
    result = _migrate(run_cli, project, target_url(cloudsql_pg, PRIVATE_IP))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["tls"].startswith("verify-ca") and f"Cloud SQL instance {PROJECT}:us-central1:{INSTANCE}" in doc["tls"]
    audit = [json.loads(line) for line in (project / ".billingops" / "audit.jsonl").read_text().splitlines()]
    assert [r["tls"] for r in audit if r.get("event") == "db.migrate.end"] == [doc["tls"]]
    assert "not certificate-checked" not in result.stderr


def test_db_migrate_refuses_another_instances_ca(run_cli, tmp_path, sql_fake, cloudsql_pg):
    gcp_fake_sqladmin.add_instance(sql_fake, PROJECT, INSTANCE, ip=PRIVATE_IP, server_ca_pem=cloudsql_pg.other_pem)
    project = _project(tmp_path, sql_fake.url)
    result = _migrate(run_cli, project, target_url(cloudsql_pg, PRIVATE_IP))
    assert result.returncode == 3, result.stderr
    assert "certificate verify failed" in result.stderr and cloudsql_pg.password not in result.stderr + result.stdout
