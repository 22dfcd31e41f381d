"""Fixtures for lock tests: a throwaway project whose terraform module holds real locks on real backends.

The module is a `terraform_data` with a slow `local-exec`, so `terraform apply` takes the state lock and
sits on it; tests SIGKILL its process group to leave the lock behind exactly as a dead deploy does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SLOW_MODULE = """
terraform {{
{backend}
}}

variable "sleep" {{
  type    = number
  default = 300
}}

resource "terraform_data" "slow" {{
  triggers_replace = timestamp()
  provisioner "local-exec" {{
    command = "sleep ${{var.sleep}}"
  }}
}}
"""


@dataclass
class Project:
    root: Path
    tf_dir: Path
    env: dict[str, str]
    holders: list[subprocess.Popen] = field(default_factory=list)

    def terraform(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["terraform", *args, "-no-color"],
            cwd=self.tf_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def init(self) -> None:
        self.terraform("init", "-input=false", "-backend-config", str(self.tf_dir / "envs" / "dev.backend.hcl"))

    def start_apply(self, lock_exists: Callable[[], bool], timeout: float = 60) -> subprocess.Popen:
        """A real `terraform apply` in its own process group, returned once its lock is visible."""
        log = open(self.root / f"apply-{len(self.holders)}.log", "w")
        proc = subprocess.Popen(
            ["terraform", "apply", "-auto-approve", "-input=false", "-no-color"],
            cwd=self.tf_dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.holders.append(proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if lock_exists():
                return proc
            if proc.poll() is not None:
                raise AssertionError(f"terraform apply exited early:\n{(self.root / log.name).read_text()}")
            time.sleep(0.2)
        raise AssertionError("terraform apply never took the lock")

    def kill(self, proc: subprocess.Popen) -> None:
        """What a closed laptop or a killed CI runner does: SIGKILL the whole process group."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def cli_args(self) -> dict:
        return {"cwd": self.root, "env": self.env}


def write_project(root: Path, backend: str, backend_hcl: str, *, cloud: str = "aws") -> tuple[Path, Path]:
    tf_dir = root / "tf"
    (tf_dir / "envs").mkdir(parents=True)
    (tf_dir / "main.tf").write_text(SLOW_MODULE.format(backend=backend))
    (tf_dir / "envs" / "dev.backend.hcl").write_text(backend_hcl)
    region = "us-east-1" if cloud == "aws" else "us-central1"
    (root / "billingops.toml").write_text(
        f'[project]\nstate_dir = ".billingops"\n[environments.dev]\ncloud = "{cloud}"\nterraform_dir = "tf"\n'
        f'[environments.dev.{cloud}]\nregion = "{region}"\n'
    )
    return tf_dir, root / "billingops.toml"


def s3_backend_hcl(
    moto_url: str,
    *,
    bucket: str,
    table: str | None,
    lockfile: bool,
    key: str = "dev/terraform.tfstate",
    extra: str = "",
) -> str:
    lines = [
        f'bucket = "{bucket}"',
        f'key = "{key}"',
        'region = "us-east-1"',
        f'endpoints = {{ s3 = "{moto_url}", dynamodb = "{moto_url}" }}',
        "use_path_style = true",
        "skip_credentials_validation = true",
        "skip_requesting_account_id = true",
        "skip_metadata_api_check = true",
        'access_key = "testing"',
        'secret_key = "testing"',
    ]
    if table:
        lines.append(f'dynamodb_table = "{table}"')
    if lockfile:
        lines.append("use_lockfile = true")
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def tf_base_env(tf_cli_config) -> dict[str, str]:
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(tf_cli_config),
        "TF_IN_AUTOMATION": "1",
        "BILLINGOPS_UNLOCK_RECHECK_SECONDS": "0.5",
    }


@pytest.fixture
def aws_state(moto):
    """An S3 bucket and a DynamoDB lock table on the test's fresh moto server."""
    import boto3

    kwargs = dict(
        endpoint_url=moto.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3 = boto3.client("s3", **kwargs)
    dynamodb = boto3.client("dynamodb", **kwargs)
    s3.create_bucket(Bucket="billing-tfstate")
    dynamodb.create_table(
        TableName="tf-locks",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return {"url": moto.url, "s3": s3, "dynamodb": dynamodb, "bucket": "billing-tfstate", "table": "tf-locks"}


@pytest.fixture
def gcs_state(fake_gcs, monkeypatch):
    """A fresh bucket on the session's fake-gcs-server, with clients and terraform pointed at it."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.url)
    client = storage.Client(
        project="billingops-test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": fake_gcs.url},
    )
    name = f"tfstate-{uuid.uuid4().hex[:10]}"
    client.create_bucket(name)
    return {"url": fake_gcs.url, "client": client, "bucket": client.bucket(name), "name": name}


@pytest.fixture
def make_project(tmp_path, tf_base_env):
    projects: list[Project] = []

    def make(backend: str, backend_hcl: str, *, cloud: str = "aws", env: dict[str, str] | None = None) -> Project:
        root = tmp_path / f"project{len(projects)}"
        root.mkdir()
        tf_dir, _ = write_project(root, backend, backend_hcl, cloud=cloud)
        project = Project(
            root,
            tf_dir,
            {
                **tf_base_env,
                **os.environ,
                **(env or {}),
                "TF_CLI_CONFIG_FILE": tf_base_env["TF_CLI_CONFIG_FILE"],
                "BILLINGOPS_UNLOCK_RECHECK_SECONDS": "0.5",
            },
        )
        projects.append(project)
        return project

    yield make
    for project in projects:
        for proc in project.holders:
            if proc.poll() is None:
                project.kill(proc)


def audit_records(project: Project) -> list[dict]:
    path = project.root / ".billingops" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def start_unlock_in_recheck(project: Project, recheck_seconds: float = 4) -> tuple[subprocess.Popen, list[str]]:
    """`billingops unlock --yes --older-than 0s`, returned once it has read the lock and waits to re-read."""
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "billingops", "unlock", "--env", "dev", "--yes", "--older-than", "0s"],
        cwd=project.root,
        env={**project.env, "BILLINGOPS_UNLOCK_RECHECK_SECONDS": str(recheck_seconds)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if "Reading the lock again" in line:
            return proc, seen
    proc.wait(timeout=30)
    raise AssertionError("unlock never reached its re-check:\n" + "".join(seen) + proc.stdout.read())
