"""A TLS PostgreSQL that plays a Cloud SQL instance: a throwaway "instance CA" signs its certificate, whose name is
the instance's (CN project:instance, as Cloud SQL's per-instance CA signs it) plus the instance's dnsName (as the
CAS-based CAs do). `cloudsql_cluster()` yields it with `.ca_pem` (its CA) and `.other_pem` (another instance's)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support import servers

PROJECT = "billingops-test"
INSTANCE = "billing-prod-postgres"
PRIVATE_IP = "10.20.0.5"
DNS_NAME = "a1b2c3d4e5f6.1a2b3c4d5e6f.us-central1.sql.goog"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, crt = folder / f"{name}.key", folder / f"{name}.crt"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "2",
             "-subj", f"/CN={name}")
    return crt, key


@contextlib.contextmanager
def cloudsql_cluster() -> Iterator[servers.PostgresCluster]:
    certs = Path(tempfile.mkdtemp(prefix="billingops-cloudsql-"))
    ca_crt, ca_key = _ca(certs, "instance-ca")
    other_crt, _ = _ca(certs, "other-instance-ca")
    key, csr, crt, ext = certs / "server.key", certs / "server.csr", certs / "server.crt", certs / "ext.cnf"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj",
             f"/CN={PROJECT}:{INSTANCE}")
    ext.write_text(f"subjectAltName=DNS:{DNS_NAME}\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial", "-out",
             str(crt), "-days", "2", "-extfile", str(ext))
    key.chmod(0o600)
    if servers._pg_user_prefix():
        for path in (certs, crt, key):
            shutil.chown(path, "postgres")
    settings = {"ssl": "on", "ssl_cert_file": f"'{crt}'", "ssl_key_file": f"'{key}'"}
    with servers.postgres_cluster("pg-cloudsql", settings) as cluster:
        cluster.ca_pem, cluster.other_pem = ca_crt.read_text(), other_crt.read_text()  # type: ignore[attr-defined]
        yield cluster
    shutil.rmtree(certs, ignore_errors=True)


def target_url(cluster: servers.PostgresCluster, host: str) -> str:
    """A fresh database on `cluster`, named by `host` (the instance's IP or DNS name) and reached at 127.0.0.1
    (libpq's hostaddr): the certificate is checked against `host`."""
    db = cluster.createdb("cloudsql_target")
    return db.replace("@127.0.0.1:", f"@{host}:") + "?hostaddr=127.0.0.1"
