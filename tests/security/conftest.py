"""Fixtures for the leak suite: canary secrets planted everywhere a secret can enter billingops, and real servers
(moto, PostgreSQL, Redis) holding them, so that every command can be run and its traces scanned for them."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import gcp_fake_secretmanager, gcp_fake_sqladmin, servers
from tests.support.gcp_fake import GcpFake

# Each canary is unique and long enough that a hit cannot be a coincidence. URL passwords stay URL-safe so the
# URL we pass is the canary verbatim; the env/dotenv ones carry characters that change under encoding.
CANARIES = {
    "aws_secret_access_key": "AKSECRETcanary0aws0secret0key0b1e",
    "aws_session_token": "SESSIONcanary0token0f00d0c4fe",
    "stripe_api_key": "sk_live_CANARYapi+key/7f3a9c1e==",
    "stripe_webhook_secret": "whsec_CANARYhook&4b8d2e6f",
    "secret_key_env": "CANARYsecretkey-env-0d15ea5e",
    "dotenv_value": "CANARY dotenv value #91c2",
    "pg_password": "CANARYpgpw3a7b9c",
    "target_pg_password": "CANARYtgtpgpw55aa",
    "redis_password": "CANARYredispw88e1",
    "moto_database_url_password": "CANARYmotodburl4e4e",
    "moto_redis_url_password": "CANARYmotoredis2b2b",
    "bad_url_password": "CANARYbadurlpw0f0f",
}


def encoded_forms(value: str) -> set[str]:
    """The canary as written, URL-encoded (both flavours), and base64 at each of the three byte alignments
    (the middle of a base64 string does not depend on what precedes it once aligned)."""
    forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    raw = value.encode()
    for pad in (b"", b"\0", b"\0\0"):
        encoded = base64.b64encode(pad + raw).decode()
        # drop the characters that mix the padding or the following bytes in
        start = {0: 0, 1: 2, 2: 3}[len(pad)]
        body = encoded[start:].rstrip("=")
        forms.add(body[: len(body) - 2] if len(body) > 8 else body)
    return {form for form in forms if len(form) >= 8}


@dataclass
class LeakWorld:
    """Everything a command of the leak suite needs; `runs` records what was executed."""

    project: Path
    tmpdir: Path
    home: Path
    env: dict[str, str]
    pg: servers.PostgresCluster
    redis: servers.RedisServer
    secret_ids: dict[str, str]
    gcp_ids: dict[str, str]
    runs: list[tuple[list[str], subprocess.CompletedProcess]] = field(default_factory=list)
    _counter: int = 0

    def pg_url(self, db: str) -> str:
        return self.pg.url(db, user="app", password=CANARIES["pg_password"])

    def fresh_db(self, password_key: str = "pg_password") -> str:
        self._counter += 1
        name = f"leak_{self._counter}_{uuid.uuid4().hex[:6]}"
        self.pg.createdb(name)
        return self.pg.url(name, user="app", password=CANARIES[password_key])

    def fresh_redis_db(self) -> str:
        self._counter += 1
        db = 1 + self._counter % 15
        import redis

        client = redis.Redis.from_url(self.redis.url(db))
        try:
            client.flushdb()
        finally:
            client.close()
        return self.redis.url(db)

    def run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "billingops", *argv],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.runs.append((argv, result))
        return result


@pytest.fixture(scope="session")
def leak_pg() -> Iterator[servers.PostgresCluster]:
    # Not under pytest's basetemp: it is 0700 root, and PostgreSQL runs as the postgres user under root.
    import psycopg

    with servers.postgres_cluster("leak-pg") as cluster:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            for key in ("pg_password", "target_pg_password"):
                role = "app" if key == "pg_password" else "tgt"
                conn.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{CANARIES[key]}'")
        yield cluster


@pytest.fixture(scope="session")
def leak_redis(tmp_path_factory) -> Iterator[servers.RedisServer]:
    server = servers.start_redis(tmp_path_factory.mktemp("leak-redis"), password=CANARIES["redis_password"])
    yield server
    server.stop()


def _moto_secrets(moto_server, prefix: str, pg: servers.PostgresCluster, redis_port: int) -> dict[str, str]:
    import boto3

    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=moto_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    values = {
        "DATABASE_URL": pg.url("postgres", user="app", password=CANARIES["moto_database_url_password"]),
        "REDIS_URL": f"redis://:{CANARIES['moto_redis_url_password']}@127.0.0.1:{redis_port}/0",
    }
    ids = {}
    for name in ("SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "DATABASE_URL", "REDIS_URL"):
        kwargs = {"SecretString": values[name]} if name in values else {}
        ids[name] = client.create_secret(Name=f"{prefix}/{name}", **kwargs)["ARN"]
    return ids


GCP_PROJECT = "billing-leak"


@pytest.fixture
def leak_gcp() -> Iterator[GcpFake]:
    fake = GcpFake.start()
    gcp_fake_secretmanager.install(fake)
    gcp_fake_sqladmin.install(fake)
    gcp_fake_sqladmin.add_instance(fake, GCP_PROJECT, "billing-dev-db")
    yield fake
    fake.stop()


def _gcp_secrets(fake: GcpFake) -> dict[str, str]:
    ids = {}
    for name in ("SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "DATABASE_URL", "REDIS_URL"):
        secret = f"projects/{GCP_PROJECT}/secrets/billing-dev-{name.lower().replace('_', '-')}"
        gcp_fake_secretmanager.create_secret(fake, secret)
        ids[name] = secret
    fake.state["secretmanager"][ids["DATABASE_URL"]]["versions"].append(
        {
            "name": f"{ids['DATABASE_URL']}/versions/1",
            "createTime": "2026-01-01T00:00:00Z",
            "state": "ENABLED",
            "_data": f"postgresql://app:{CANARIES['moto_database_url_password']}@10.0.0.3:5432/billing".encode(),
        }
    )
    fake.state["secretmanager"][ids["REDIS_URL"]]["versions"].append(
        {
            "name": f"{ids['REDIS_URL']}/versions/1",
            "createTime": "2026-01-01T00:00:00Z",
            "state": "ENABLED",
            "_data": f"rediss://:{CANARIES['moto_redis_url_password']}@10.0.0.4:6378/0".encode(),
        }
    )
    return ids


@pytest.fixture
def leak_base() -> Iterator[Path]:
    # Not under pytest's basetemp (0700 root): `sandbox up` starts PostgreSQL as the postgres user in TMPDIR.
    base = Path(tempfile.mkdtemp(prefix="billingops-leak-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def leak_world(leak_base, moto_server, leak_pg, leak_redis, leak_gcp) -> LeakWorld:
    tmp_path = leak_base
    project = tmp_path / "project"
    repo = Path(__file__).resolve().parents[2]
    (project / "tf").mkdir(parents=True)
    # the tfvars only (cost reads them); no .tf files, so terraform commands fail fast and offline
    shutil.copytree(repo / "terraform" / "aws" / "envs", project / "tf" / "envs")
    shutil.copytree(repo / "migrations", project / "migrations")
    endpoints = "".join(f'{api} = "{leak_gcp.url}"\n' for api in ("run", "secretmanager", "sqladmin"))
    (project / "billingops.toml").write_text(
        '[environments.dev]\ncloud = "aws"\nterraform_dir = "tf"\nservice_name = "billing-dev"\n'
        '[environments.dev.aws]\nregion = "us-east-1"\n'
        f'[environments.dev.gcp]\nproject = "{GCP_PROJECT}"\nregion = "us-central1"\n'
        f"[environments.dev.gcp.endpoints]\n{endpoints}",
        encoding="utf-8",
    )
    (project / "secrets.env").write_text(
        f"STRIPE_API_KEY='{CANARIES['dotenv_value']}'\nSTRIPE_WEBHOOK_SECRET='{CANARIES['stripe_webhook_secret']}'\n",
        encoding="utf-8",
    )
    tmpdir = tmp_path / "tmp"
    home = tmp_path / "home"
    tmpdir.mkdir()
    tmpdir.chmod(0o1777)
    home.mkdir()
    env = {k: v for k, v in os.environ.items()}
    env.update(moto_server.env())
    env.update(
        {
            "AWS_SECRET_ACCESS_KEY": CANARIES["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": CANARIES["aws_session_token"],
            "BILLINGOPS_SECRET_STRIPE_API_KEY": CANARIES["stripe_api_key"],
            "BILLINGOPS_SECRET_SECRET_KEY": CANARIES["secret_key_env"],
            "TMPDIR": str(tmpdir),
            "HOME": str(home),
            "COLUMNS": "200",
        }
    )
    prefix = f"billing-dev-{uuid.uuid4().hex[:8]}"
    ids = _moto_secrets(moto_server, prefix, leak_pg, leak_redis.port)
    return LeakWorld(
        project=project,
        tmpdir=tmpdir,
        home=home,
        env=env,
        pg=leak_pg,
        redis=leak_redis,
        secret_ids=ids,
        gcp_ids=_gcp_secrets(leak_gcp),
    )


def scan(world: LeakWorld) -> tuple[list[str], int]:
    """Every (canary, place) hit in the recorded outputs and in the files billingops could have written;
    returns (hits, number of files scanned)."""
    forms = {name: encoded_forms(value) for name, value in CANARIES.items()}
    planted = {world.project / "secrets.env", world.project / "billingops.toml"}
    hits: list[str] = []
    files = 0

    def check(text: str, where: str) -> None:
        for name, variants in forms.items():
            for form in variants:
                if form in text:
                    hits.append(f"{name} ({form!r}) in {where}")

    for argv, result in world.runs:
        check(result.stdout, f"stdout of {argv}")
        check(result.stderr, f"stderr of {argv}")
    for root in (world.project, world.tmpdir, world.home):
        for path in root.rglob("*"):
            if path in planted or not path.is_file() or path.is_symlink():
                continue
            if root == world.project and path.parts[len(root.parts)] in ("migrations", "tf"):
                # our own inputs, unless billingops wrote into the terraform folder
                if not (path.parts[len(root.parts)] == "tf" and path.parts[len(root.parts) + 1] != "envs"):
                    continue
            files += 1
            try:
                text = path.read_bytes().decode("utf-8", errors="replace")
            except OSError:
                continue
            check(text, str(path))
    return hits, files
