"""Fixtures for the secret tests: secrets as terraform would have created them, on moto and on GcpFake."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support import gcp_fake_secretmanager
from tests.support.gcp_fake import GcpFake

SEEDED = ("SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET")
TERRAFORM = ("DATABASE_URL", "REDIS_URL")
PROJECT = "billing-test"
# An empty terraform folder: no remote backend, so the deploy lock is the local one (a file in that folder).
TF_DIR = 'terraform_dir = "tf"'


@pytest.fixture
def aws(moto_server, monkeypatch):
    """The session's moto server without a reset (a reset makes moto reload its backends: seconds per test);
    tests stay apart by using unique secret names."""
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    return moto_server


@pytest.fixture
def aws_ids(aws) -> dict[str, str]:
    """The five default secrets created empty in moto (the terraform secrets get a value), name -> ARN."""
    from billingops.clouds.base import aws_client

    client = aws_client("secretsmanager", "us-east-1")
    prefix = f"billing-dev-{uuid.uuid4().hex[:8]}"
    ids = {}
    for name in SEEDED + TERRAFORM:
        kwargs = (
            {"SecretString": f"postgresql://app:tf-{name.lower()}-pw@db:5432/billing"}
            if name in TERRAFORM
            else {}
        )
        ids[name] = client.create_secret(Name=f"{prefix}/{name}", **kwargs)["ARN"]
    return ids


@pytest.fixture
def gcp_fake():
    fake = GcpFake.start()
    gcp_fake_secretmanager.install(fake)
    yield fake
    fake.stop()


@pytest.fixture
def gcp_ids(gcp_fake) -> dict[str, str]:
    ids = {}
    for name in SEEDED + TERRAFORM:
        secret = f"projects/{PROJECT}/secrets/billing-dev-{name.lower().replace('_', '-')}"
        gcp_fake_secretmanager.create_secret(gcp_fake, secret)
        ids[name] = secret
    tf = ids["DATABASE_URL"]
    gcp_fake.state["secretmanager"][tf]["versions"].append(
        {
            "name": f"{tf}/versions/1",
            "createTime": "2026-01-01T00:00:00Z",
            "state": "ENABLED",
            "_data": b"postgresql://app:tf-gcp-pw@10.0.0.3:5432/billing",
        }
    )
    tf = ids["REDIS_URL"]
    gcp_fake.state["secretmanager"][tf]["versions"].append(
        {
            "name": f"{tf}/versions/1",
            "createTime": "2026-01-01T00:00:00Z",
            "state": "ENABLED",
            "_data": b"rediss://:tf-redis-pw@10.0.0.4:6378/0",
        }
    )
    return ids


@pytest.fixture
def project(tmp_path) -> Path:
    """A project folder with a billingops.toml for dev on AWS."""
    (tmp_path / "tf").mkdir(exist_ok=True)
    (tmp_path / "billingops.toml").write_text(
        f'[environments.dev]\ncloud = "aws"\n{TF_DIR}\n', encoding="utf-8"
    )
    return tmp_path


def write_gcp_config(folder: Path, fake_url: str) -> None:
    (folder / "tf").mkdir(exist_ok=True)
    (folder / "billingops.toml").write_text(
        f'[environments.dev]\ncloud = "gcp"\n{TF_DIR}\n[environments.dev.gcp]\nproject = "{PROJECT}"\n'
        f'[environments.dev.gcp.endpoints]\nsecretmanager = "{fake_url}"\n',
        encoding="utf-8",
    )


def id_flags(ids: dict[str, str]) -> list[str]:
    flags: list[str] = []
    for name, value in ids.items():
        flags += ["--secret-id", f"{name}={value}"]
    return flags
