"""Issue 13, point 5: TLS that verifies.

PostgreSQL: a CA from --source-sslrootcert / the environment's rds_ca_bundle makes the connection verify-full (a
real TLS PostgreSQL proves the right CA connects and a wrong one is refused); without a CA a remote endpoint falls
back to sslmode=require and says so, in --json and in the audit log; loopback stays plain and is reported as such.
Redis: a URL that switches certificate checks off is refused (exit 2) unless --allow-insecure-redis-tls is given,
and then it is warned about and audited.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from billingops.config import load_settings
from billingops.errors import UsageError
from billingops.transfer import endpoints
from tests.support import migrate_cli, servers
from tests.support.transfer_servers import REDIS_PASSWORD


def _audit(cwd: Path) -> list[dict]:
    path = cwd / ".billingops" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def tls_pg():
    """A PostgreSQL cluster with ssl=on and a server certificate for 127.0.0.1 signed by a throwaway CA;
    `.ca_file` is that CA, `.wrong_ca` another CA that did not sign it."""
    certs = Path(tempfile.mkdtemp(prefix="billingops-pgtls-"))
    ca, crt, key = servers._make_tls_files(certs)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(certs / "wrong.key"), "-out",
             str(certs / "wrong.crt"), "-days", "2", "-subj", "/CN=someone-else")
    key.chmod(0o600)
    if servers._pg_user_prefix():  # the server runs as the postgres user and must own its key
        for path in (certs, crt, key):
            shutil.chown(path, "postgres")
    settings = {"ssl": "on", "ssl_cert_file": f"'{crt}'", "ssl_key_file": f"'{key}'"}
    with servers.postgres_cluster("pg-tls", settings) as cluster:
        cluster.ca_file, cluster.wrong_ca = ca, certs / "wrong.crt"  # type: ignore[attr-defined]
        yield cluster
    shutil.rmtree(certs, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_source(tls_pg) -> str:
    url = tls_pg.createdb("tls_source")
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    return url


# -- PostgreSQL ------------------------------------------------------------------------------------------------

def test_the_right_ca_connects_verify_full(run_cli, tls_pg, tls_source, empty_target, tmp_path):
    result = run_cli(*migrate_cli.args("--dry-run", *migrate_cli.postgres(tls_source, empty_target),
                                       "--source-sslrootcert", str(tls_pg.ca_file)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["tls"]["source"].startswith("verify-full")
    assert doc["tls"]["target"].startswith("none")  and "loopback" in doc["tls"]["target"]
    record = [r for r in _audit(tmp_path) if r.get("phase") == "dry-run"][-1]
    assert record["tls"] == doc["tls"]


def test_a_wrong_ca_is_refused(run_cli, tls_pg, tls_source, empty_target, tmp_path):
    result = run_cli(*migrate_cli.args("--dry-run", *migrate_cli.postgres(tls_source, empty_target),
                                       "--source-sslrootcert", str(tls_pg.wrong_ca)), cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "certificate verify failed" in result.stderr and "Traceback" not in result.stderr
    assert tls_pg.password not in result.stderr + result.stdout


def test_the_rds_ca_bundle_from_the_config_is_used(run_cli, tls_pg, tls_source, empty_target, tmp_path):
    """The source is aws: its environment's rds_ca_bundle is the CA (here a wrong one, so the connection fails,
    which proves the bundle was used: the server's certificate is otherwise never checked)."""
    (tmp_path / "billingops.toml").write_text(
        f'[environments.prod.aws]\nrds_ca_bundle = "{tls_pg.wrong_ca}"\n')
    result = run_cli(*migrate_cli.args("--dry-run", *migrate_cli.postgres(tls_source, empty_target)), cwd=tmp_path)
    assert result.returncode == 3 and "certificate verify failed" in result.stderr, result.stderr
    (tmp_path / "billingops.toml").write_text(
        f'[environments.prod.aws]\nrds_ca_bundle = "{tls_pg.ca_file}"\n')
    result = run_cli(*migrate_cli.args("--dry-run", *migrate_cli.postgres(tls_source, empty_target)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tls"]["source"].startswith("verify-full")


def test_a_missing_ca_file_is_a_usage_error(run_cli, tls_source, empty_target, tmp_path):
    result = run_cli(*migrate_cli.args("--dry-run", *migrate_cli.postgres(tls_source, empty_target),
                                       "--target-sslrootcert", str(tmp_path / "nope.pem")), cwd=tmp_path)
    assert result.returncode == 2 and "--target-sslrootcert" in result.stderr, result.stderr
    assert "no such file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def envs(tmp_path):
    settings = load_settings(cwd=tmp_path)
    return settings.env("prod", "aws"), settings.env("prod", "gcp")


def test_a_remote_endpoint_without_a_ca_falls_back_to_require_and_says_so(envs):
    aws, gcp = envs
    found = endpoints.resolve(source_env=aws, target_env=gcp, want_pg=True, want_redis=False, flags={
        "source_postgres": "postgresql://app:pw-a@rds.internal:5432/billing",
        "target_postgres": "postgresql://app:pw-b@10.1.0.3:5432/billing?sslmode=verify-full&sslrootcert=/x.pem",
    })
    assert found.source_pg.params()["sslmode"] == "require"
    assert found.source_pg.child_env()["PGSSLMODE"] == "require"
    tls = found.tls()
    assert tls["source"].startswith("require") and "--source-sslrootcert" in tls["source"]
    assert tls["target"].startswith("verify-full")
    assert found.unverified() == ["source"]


def test_a_ca_makes_a_require_url_verify_full(envs, tmp_path):
    aws, gcp = envs
    ca = tmp_path / "rds.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    found = endpoints.resolve(source_env=aws, target_env=gcp, want_pg=True, want_redis=False, flags={
        "source_postgres": "postgresql://app:pw-a@rds.internal:5432/billing?sslmode=require",
        "target_postgres": "postgresql://app:pw-b@127.0.0.1:5432/billing",
        "source_sslrootcert": ca,
    })
    params = found.source_pg.params()
    assert params["sslmode"] == "verify-full" and params["sslrootcert"] == str(ca)
    assert found.source_pg.child_env()["PGSSLROOTCERT"] == str(ca)


# -- Redis -----------------------------------------------------------------------------------------------------

def _redis_args(source: str, target: str, *extra: str) -> list[str]:
    return migrate_cli.args("--dry-run", "--only", "redis", "--source-redis", source, "--target-redis", target,
                            *extra)


@pytest.mark.parametrize("query", ["ssl_cert_reqs=none", "ssl_cert_reqs=CERT_NONE", "ssl_cert_reqs=None"])
def test_a_redis_url_without_certificate_checks_is_refused(run_cli, source_redis, tls_redis, tmp_path, query):
    result = run_cli(*_redis_args(source_redis.url(), f"{tls_redis.tls_url()}?{query}"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "--allow-insecure-redis-tls" in result.stderr and "--target-redis" in result.stderr
    assert REDIS_PASSWORD not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_the_refusal_covers_urls_from_the_environment(run_cli, source_redis, tls_redis, tmp_path):
    result = run_cli(*migrate_cli.args("--dry-run", "--only", "redis", "--target-redis", source_redis.url()),
                     env={"BILLINGOPS_SOURCE_REDIS_URL": f"{tls_redis.tls_url()}?ssl_cert_reqs=none"}, cwd=tmp_path)
    assert result.returncode == 2 and "--source-redis" in result.stderr, result.stderr


def test_the_refusal_covers_urls_from_the_secret_store(envs):
    from tests.transfer.test_endpoints import FakeStore

    aws, gcp = envs
    store = FakeStore({"arn:redis": "rediss://:pw@cache.internal:6379/0?ssl_cert_reqs=none"})
    with pytest.raises(UsageError, match="--allow-insecure-redis-tls"):
        endpoints.resolve(source_env=aws, target_env=gcp, want_pg=False, want_redis=True,
                          flags={"target_redis": "redis://127.0.0.1:6379/0"},
                          outputs_reader=lambda env: {"secret_ids": {"REDIS_URL": "arn:redis"}},
                          store_factory=lambda env, outputs: store)


def test_the_flag_allows_it_with_a_warning_and_an_audit_record(run_cli, source_redis, tls_redis, tmp_path):
    result = run_cli(*_redis_args(source_redis.url(), f"{tls_redis.tls_url()}?ssl_cert_reqs=none",
                                  "--allow-insecure-redis-tls"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "certificate" in result.stderr and "target" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["tls"]["target_redis"].startswith("not verified")
    record = [r for r in _audit(tmp_path) if r.get("phase") == "dry-run"][-1]
    assert record["insecure_redis_tls"] == ["target"]


# -- db migrate's connection (the environment's rds_ca_bundle) -------------------------------------------------

def test_db_migrate_connect_verifies_with_the_rds_bundle(tls_pg, tls_source):
    from billingops.errors import ExternalError
    from billingops.services.db_migrate.connect import connect

    with connect(tls_source, ca_file=tls_pg.ca_file) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert row == (True,)
        assert conn.info.get_parameters()["sslmode"] == "verify-full"
    with pytest.raises(ExternalError, match="certificate verify failed"):
        connect(tls_source, ca_file=tls_pg.wrong_ca)
