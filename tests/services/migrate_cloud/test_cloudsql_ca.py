"""Issue 13 (5): a Cloud SQL endpoint is verified with the instance's server CA from the SQL Admin API.

A real TLS PostgreSQL (a throwaway CA and server certificate) plays the instance; the SQL Admin wire fake
answers instances.list / instances.get with serverCaCert, serverCaMode and dnsName as the real API does. The
URL names the instance's private IP (or its DNS name) and `hostaddr=127.0.0.1` sends libpq to the local server,
so the certificate checks are libpq's own, on the name the operator gave.
- GOOGLE_MANAGED_INTERNAL_CA: the server certificate names project:instance, not the IP -> verify-ca;
- GOOGLE_MANAGED_CAS_CA reached by its dnsName -> verify-full;
- another instance's CA -> exit 3 "certificate verify failed", no password printed;
- the API cannot be read -> sslmode=require, with a warning and a `tls` field that say why.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.support import gcp_fake_sqladmin, migrate_cli, servers
from tests.support.cloudsql_tls import DNS_NAME, INSTANCE, PRIVATE_IP, PROJECT, target_url


def _project(root: Path, sqladmin: str) -> Path:
    (root / "billingops.toml").write_text(
        f'[environments.prod.gcp]\nproject = "{PROJECT}"\n'
        f'[environments.prod.gcp.endpoints]\nsqladmin = "{sqladmin}"\n')
    return root


def _dry_run(run_cli, cwd: Path, source: str, target: str):
    return run_cli(*migrate_cli.args("--dry-run", *migrate_cli.postgres(source, target)), cwd=cwd)


def _audit_tls(cwd: Path) -> dict:
    lines = (cwd / ".billingops" / "audit.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if '"dry-run"' in line][-1]["tls"]


def test_the_per_instance_ca_verifies_the_instance_reached_by_ip(run_cli, tmp_path, sql_fake, cloudsql_pg,
                                                                 billing_source):
    gcp_fake_sqladmin.add_instance(sql_fake, PROJECT, INSTANCE, ip=PRIVATE_IP, server_ca_pem=cloudsql_pg.ca_pem)
    project = _project(tmp_path, sql_fake.url)
    result = _dry_run(run_cli, project, billing_source, target_url(cloudsql_pg, PRIVATE_IP))
    assert result.returncode == 0, result.stderr
    tls = json.loads(result.stdout)["tls"]["target"]
    assert tls.startswith("verify-ca"), tls
    assert f"{PROJECT}:us-central1:{INSTANCE}" in tls and "SQL Admin API" in tls
    assert "GOOGLE_MANAGED_INTERNAL_CA" in tls
    assert _audit_tls(project)["target"] == tls
    (written,) = (project / ".billingops" / "runs" / "server-ca").iterdir()
    assert written.read_text() == cloudsql_pg.ca_pem
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
    assert "NOT verified" not in result.stderr


def test_a_cas_instance_reached_by_its_dns_name_is_verify_full(run_cli, tmp_path, sql_fake, cloudsql_pg,
                                                              billing_source):
    gcp_fake_sqladmin.add_instance(sql_fake, PROJECT, INSTANCE, ip=PRIVATE_IP, server_ca_pem=cloudsql_pg.ca_pem,
                                   server_ca_mode="GOOGLE_MANAGED_CAS_CA", dns_name=DNS_NAME + ".")
    project = _project(tmp_path, sql_fake.url)
    result = _dry_run(run_cli, project, billing_source, target_url(cloudsql_pg, DNS_NAME))
    assert result.returncode == 0, result.stderr
    tls = json.loads(result.stdout)["tls"]["target"]
    assert tls.startswith("verify-full") and "GOOGLE_MANAGED_CAS_CA" in tls, tls


def test_the_ca_of_another_instance_is_refused(run_cli, tmp_path, sql_fake, cloudsql_pg, billing_source):
    gcp_fake_sqladmin.add_instance(sql_fake, PROJECT, INSTANCE, ip=PRIVATE_IP, server_ca_pem=cloudsql_pg.other_pem)
    project = _project(tmp_path, sql_fake.url)
    result = _dry_run(run_cli, project, billing_source, target_url(cloudsql_pg, PRIVATE_IP))
    assert result.returncode == 3, result.stderr
    assert "certificate verify failed" in result.stderr and "Traceback" not in result.stderr
    assert cloudsql_pg.password not in result.stderr + result.stdout


def test_an_unreadable_api_falls_back_to_require_and_says_why(run_cli, tmp_path, cloudsql_pg, billing_source):
    project = _project(tmp_path, f"http://127.0.0.1:{servers.free_port()}")  # nothing listens there
    result = _dry_run(run_cli, project, billing_source, target_url(cloudsql_pg, PRIVATE_IP))
    assert result.returncode == 0, result.stderr
    tls = json.loads(result.stdout)["tls"]["target"]
    assert tls.startswith("require") and "Cloud SQL server CA could not be read" in tls, tls
    assert "NOT verified" in result.stderr and "Cloud SQL server CA could not be read" in result.stderr
    assert _audit_tls(project)["target"] == tls
