"""Shared fixtures: no test can reach a real cloud; real servers start once per session on loopback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import cli, servers
from tests.support.terraform import write_cli_config

REPO = Path(__file__).resolve().parents[1]

# The PostgreSQL clusters and Redis servers of the migrate-cloud tests (session-scoped, started on first use):
# a plugin, because both tests/transfer/ and tests/services/migrate_cloud/ use them.
pytest_plugins = ["tests.support.transfer_servers", "tests.support.schedule", "tests.support.signals"]

_CLOUD_ENV_PREFIXES = ("AWS_", "GOOGLE_", "CLOUDSDK_", "GCLOUD_", "BILLINGOPS_", "STORAGE_EMULATOR_HOST")


def scrubbed_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ without any cloud credential or billingops setting, plus dummy AWS credentials."""
    env = {k: v for k, v in (base or os.environ).items() if not k.startswith(_CLOUD_ENV_PREFIXES)}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        # an unroutable endpoint: a test that forgets to point boto3 at moto fails fast instead of reaching AWS
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "GOOGLE_CLOUD_PROJECT": "billingops-test",
        "NO_COLOR": "1",
        "CI": "true",
    })
    return env


@pytest.fixture(autouse=True)
def _no_real_cloud(monkeypatch, tmp_path_factory):
    """Every test runs with fake credentials, an unreachable default AWS endpoint and a throwaway HOME."""
    for key in list(os.environ):
        if key.startswith(_CLOUD_ENV_PREFIXES):
            monkeypatch.delenv(key, raising=False)
    for key, value in scrubbed_environ({}).items():
        monkeypatch.setenv(key, value)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture(scope="session")
def tf_cli_config(tmp_path_factory) -> Path:
    """A TF_CLI_CONFIG_FILE using the offline provider mirror; set it in the env of terraform calls."""
    return write_cli_config(tmp_path_factory.mktemp("tfcli") / "terraformrc")


@pytest.fixture
def tf_env(tf_cli_config, monkeypatch) -> Path:
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tf_cli_config))
    monkeypatch.setenv("TF_IN_AUTOMATION", "1")
    return tf_cli_config


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    server = servers.start_moto(log_dir=tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server, monkeypatch):
    """The session's moto server, reset for this test, with boto3 pointed at it through the environment."""
    moto_server.reset()
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    return moto_server


@pytest.fixture(scope="session")
def fake_gcs():
    server = servers.start_fake_gcs()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """The session's one shared PostgreSQL cluster (tests create their own databases in it)."""
    with servers.postgres_cluster("pg") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = servers.start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def run_cli(tmp_path):
    """Run `python -m billingops ARGS` in a subprocess, as a user would; returns CompletedProcess."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, input: str | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
        return cli.run(*args, cwd=cwd or tmp_path, env=env, input=input, timeout=timeout)

    return run
