"""Fixtures for the network-fault suite: moto and the GCP fake behind a fault-injecting proxy."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.proxy import FaultProxy
from tests.support import gcp_fake_run, gcp_fake_secretmanager, gcp_fake_sqladmin
from tests.support.cli import run as run_cli
from tests.support.gcp_fake import GcpFake

GCP_PROJECT = "billing-faults"
SEEDED = ("SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET")


@dataclass
class Ran:
    result: subprocess.CompletedProcess
    seconds: float

    @property
    def code(self) -> int:
        return self.result.returncode

    @property
    def stderr(self) -> str:
        return self.result.stderr


def run_billingops(cwd: Path, *args: str, env: dict[str, str], timeout: float) -> Ran:
    started = time.monotonic()
    result = run_cli(*args, cwd=cwd, env=env, timeout=timeout)
    return Ran(result, time.monotonic() - started)


@pytest.fixture
def moto_proxy(moto_server, monkeypatch) -> Iterator[FaultProxy]:
    """moto behind the proxy; AWS_ENDPOINT_URL points at the proxy for this test and its subprocesses."""
    proxy = FaultProxy.start(moto_server.url)
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    yield proxy
    proxy.stop()


@pytest.fixture
def aws_project(tmp_path, moto_server) -> tuple[Path, dict[str, str]]:
    """A dev-on-AWS project (no terraform) and the app's secrets created in moto (direct, not via the proxy)."""
    import boto3

    (tmp_path / "tf").mkdir()
    (tmp_path / "billingops.toml").write_text(
        '[environments.dev]\ncloud = "aws"\nterraform_dir = "tf"\n[environments.dev.aws]\nregion = "us-east-1"\n',
        encoding="utf-8",
    )
    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=moto_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    prefix = f"billing-dev-{uuid.uuid4().hex[:8]}"
    ids = {}
    for name in (*SEEDED, "DATABASE_URL", "REDIS_URL"):
        kwargs = {"SecretString": "postgresql://app:pw@db:5432/x"} if name in ("DATABASE_URL", "REDIS_URL") else {}
        ids[name] = client.create_secret(Name=f"{prefix}/{name}", **kwargs)["ARN"]
    return tmp_path, ids


def id_flags(ids: dict[str, str]) -> list[str]:
    flags: list[str] = []
    for name, value in ids.items():
        flags += ["--secret-id", f"{name}={value}"]
    return flags


@pytest.fixture
def gcp() -> Iterator[GcpFake]:
    fake = GcpFake.start()
    gcp_fake_secretmanager.install(fake)
    gcp_fake_sqladmin.install(fake)
    gcp_fake_run.install(fake)
    gcp_fake_sqladmin.add_instance(fake, GCP_PROJECT, "billing-dev-db")
    yield fake
    fake.stop()


def gcp_project(folder: Path, endpoint: str) -> Path:
    (folder / "tf").mkdir(exist_ok=True)
    endpoints = "".join(f'{api} = "{endpoint}"\n' for api in ("run", "secretmanager", "sqladmin", "artifactregistry"))
    (folder / "billingops.toml").write_text(
        f'[environments.dev]\ncloud = "gcp"\nterraform_dir = "tf"\n[environments.dev.gcp]\n'
        f'project = "{GCP_PROJECT}"\nregion = "us-central1"\n[environments.dev.gcp.endpoints]\n{endpoints}',
        encoding="utf-8",
    )
    return folder


def gcp_secret_ids(fake: GcpFake) -> dict[str, str]:
    ids = {}
    for name in (*SEEDED, "DATABASE_URL", "REDIS_URL"):
        secret = f"projects/{GCP_PROJECT}/secrets/billing-dev-{name.lower().replace('_', '-')}"
        gcp_fake_secretmanager.create_secret(fake, secret)
        ids[name] = secret
    return ids
