"""Crash safety: kill -9 billingops (alone, or with its terraform) at seeded random points of a real deploy,
many times over; afterwards every journal parses, `unlock` clears what was left, `--resume` completes, and
nothing is applied twice (the migration ledger and the secret versions are exact).

The environment runs every step for real: terraform (terraform_data resources with short sleeps, local
backend), secrets in moto's Secrets Manager, migrations against a real PostgreSQL, verify against a local
HTTP health endpoint. Rollout skips (no --image), as it does outside the sandbox without one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run as run_cli

SEED = 20261125
KILL_POINTS = 12
# The steps that do work without --image (rollout skips): a kill point falls inside one of them.
KILL_STEPS = ("preflight", "init", "plan", "approval", "apply", "secrets", "migrate", "verify")

MODULE = """
terraform {
  backend "local" {}
}
variable "environment" {
  type = string
}
variable "secret_ids" {
  type = map(string)
}
variable "lb_url" {
  type = string
}
variable "revision" {
  type = number
}
resource "terraform_data" "step" {
  for_each = toset(["network", "database", "cache", "service", "monitoring"])
  input    = "${each.key}-${var.revision}"
  # replaced on every revision, so each run's apply does real (slow) work that a kill can interrupt
  triggers_replace = [var.revision]
  provisioner "local-exec" {
    command = "sleep 1"
  }
}
output "secret_ids" {
  value = var.secret_ids
}
output "load_balancer_url" {
  value = var.lb_url
}
"""


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802  # http.server's naming
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        return None


@pytest.fixture
def health_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _project(root: Path, secret_ids: dict[str, str], lb_url: str, revision: int) -> Path:
    (root / "tf" / "envs").mkdir(parents=True, exist_ok=True)
    (root / "tf" / "main.tf").write_text(MODULE)
    ids = ", ".join(f'{k} = "{v}"' for k, v in secret_ids.items())
    (root / "tf" / "envs" / "dev.tfvars").write_text(
        f'environment = "dev"\nsecret_ids = {{ {ids} }}\nlb_url = "{lb_url}"\nrevision = {revision}\n')
    (root / "tf" / "envs" / "dev.backend.hcl").write_text(f'path = "{root / "state" / "dev.tfstate"}"\n')
    (root / "billingops.toml").write_text(textwrap.dedent("""
        [environments.dev]
        cloud = "aws"
        terraform_dir = "tf"
        domain_name = "billing.dev.example.com"

        [[environments.dev.secrets]]
        name = "DATABASE_URL"
        source = "terraform"

        [[environments.dev.secrets]]
        name = "SECRET_KEY"
        source = "generate"
        length = 40
        """))
    return root


def _cli(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=project, timeout=timeout)


def _journals(project: Path) -> list[dict]:
    runs = project / ".billingops" / "runs"
    # every journal must always parse: a torn write would raise here
    return [json.loads(p.read_text()) for p in sorted(runs.glob("*.json"))] if runs.exists() else []


def _wait_for_step(project: Path, proc: subprocess.Popen, step: str, timeout: float = 120) -> bool:
    """Wait until the run of `proc` has started `step` (a quick step may be over by then: the kill lands in a
    later one); False if the run ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        run = next((j for j in reversed(_journals(project)) if j.get("pid") == proc.pid), None)
        entry = next((e for e in (run or {}).get("steps", []) if e["name"] == step), None)
        if entry is not None:
            return True
        time.sleep(0.02)
    return False


def _wait_gone(pid: int | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def _recover(project: Path) -> int:
    """Clear what a dead run left (its deploy lock; terraform's lock if terraform died), then resume until the
    deploy completes. Returns how many resumes it took."""
    for flag in ("--deploy-lock", None):
        args = ["unlock", "--env", "dev", "--yes", "--older-than", "0s", *([flag] if flag else [])]
        result = _cli(project, *args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    for attempt in range(1, 4):
        if _journals(project)[-1]["status"] == "ok":
            return attempt - 1
        result = _cli(project, "deploy", "--env", "dev", "--yes", "--resume")
        if result.returncode not in (0, 1, 3):
            pytest.fail(f"resume refused or broken ({result.returncode}): {result.stderr[-2000:]}")
    assert _journals(project)[-1]["status"] == "ok", _journals(project)[-1]["steps"]
    return 3


@pytest.mark.slow
def test_kill_minus_9_at_random_points_then_resume_completes(tmp_path, tf_env, moto, postgres_server, health_url):
    import boto3

    database_url = postgres_server.createdb("faultdb")
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    db_arn = sm.create_secret(Name="billing-dev/DATABASE_URL", SecretString=database_url)["ARN"]
    key_arn = sm.create_secret(Name="billing-dev/SECRET_KEY")["ARN"]
    ids = {"DATABASE_URL": db_arn, "SECRET_KEY": key_arn}
    project = _project(tmp_path / "p", ids, health_url, revision=0)

    clean = _cli(project, "deploy", "--env", "dev", "--yes")
    assert clean.returncode == 0, clean.stderr[-3000:]

    rng = random.Random(SEED)
    killed = completed_first = resumes = 0
    for point in range(1, KILL_POINTS + 1):
        _project(project, ids, health_url, revision=point)  # new work for terraform on every run
        proc = subprocess.Popen([sys.executable, "-m", "billingops", "deploy", "--env", "dev", "--yes"],
                                cwd=project, env=os.environ.copy(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        # A kill point is a step and a moment inside it, not a time since the start: the machine's load then
        # cannot push most points past the run's end. One point in nine lets the run finish first.
        step = rng.choice([*KILL_STEPS, None])
        delay = rng.uniform(0.0, 0.8)
        if step is None or not _wait_for_step(project, proc, step):
            proc.wait(timeout=300)
        else:
            time.sleep(delay)
        with_terraform = rng.random() < 0.5
        tf_pid = ((_journals(project) or [{}])[-1].get("terraform") or {}).get("pid")
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            if with_terraform and tf_pid:
                try:
                    os.killpg(tf_pid, signal.SIGKILL)  # terraform runs in its own process group
                except ProcessLookupError:
                    pass
            killed += 1
        else:
            completed_first += 1
        proc.wait(timeout=60)
        _wait_gone(tf_pid)  # an orphaned terraform finishes its apply and releases its lock itself
        resumes += _recover(project)

    assert '"kind": "deploy"' not in _cli(project, "locks", "--env", "dev", "--json").stdout
    with psycopg.connect(database_url) as conn:
        ledger = conn.execute("SELECT version, count(*) FROM billingops_schema_migrations GROUP BY version").fetchall()
    shipped = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "migrations").glob("*.sql"))
    assert len(ledger) == len(shipped) and all(count == 1 for _, count in ledger)
    versions = sm.list_secret_version_ids(SecretId=key_arn)["Versions"]
    assert len(versions) == 1, "a resumed run must not generate the secret again"
    state = json.loads((project / "state" / "dev.tfstate").read_text())
    assert {i["attributes"]["input"]["value"] for i in state["resources"][0]["instances"]} == {
        f"{name}-{KILL_POINTS}" for name in ("network", "database", "cache", "service", "monitoring")}
    print(f"kill points: {KILL_POINTS} tried, {killed} killed mid-run, {completed_first} finished first, "
          f"{resumes} resumes, all recovered (seed {SEED})")
    assert killed >= KILL_POINTS // 2
