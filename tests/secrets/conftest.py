"""Fixtures for the secret tests: secrets as terraform would have created them, on moto and on GcpFake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import gcp_fake_secretmanager
from tests.support.gcp_fake import GcpFake

SEEDED = ("SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET")
TERRAFORM = ("DATABASE_URL", "REDIS_URL")
PROJECT = "billing-test"


@pytest.fixture
def aws_ids(moto) -> dict[str, str]:
    """The five default secrets created empty in moto (the terraform secrets get a value), name -> ARN."""
    from billingops.clouds.base import aws_client

    client = aws_client("secretsmanager", "us-east-1")
    ids = {}
    for name in SEEDED + TERRAFORM:
        kwargs = {"SecretString": f"postgresql://app:tf-{name.lower()}-pw@db:5432/billing"} if name in TERRAFORM else {}
        ids[name] = client.create_secret(Name=f"billing-dev/{name}", **kwargs)["ARN"]
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
        {"name": f"{tf}/versions/1", "createTime": "2026-01-01T00:00:00Z", "state": "ENABLED",
         "_data": b"postgresql://app:tf-gcp-pw@10.0.0.3:5432/billing"})
    tf = ids["REDIS_URL"]
    gcp_fake.state["secretmanager"][tf]["versions"].append(
        {"name": f"{tf}/versions/1", "createTime": "2026-01-01T00:00:00Z", "state": "ENABLED",
         "_data": b"rediss://:tf-redis-pw@10.0.0.4:6378/0"})
    return ids


@pytest.fixture
def project(tmp_path) -> Path:
    """A project folder with a billingops.toml for dev on AWS and GCP (GCP pointed at nothing yet)."""
    (tmp_path / "billingops.toml").write_text('[environments.dev]\ncloud = "aws"\n', encoding="utf-8")
    return tmp_path


def write_gcp_config(folder: Path, fake_url: str) -> None:
    (folder / "billingops.toml").write_text(
        f'[environments.dev]\ncloud = "gcp"\n[environments.dev.gcp]\nproject = "{PROJECT}"\n'
        f'[environments.dev.gcp.endpoints]\nsecretmanager = "{fake_url}"\n', encoding="utf-8")


def id_flags(ids: dict[str, str]) -> list[str]:
    flags: list[str] = []
    for name, value in ids.items():
        flags += ["--secret-id", f"{name}={value}"]
    return flags
