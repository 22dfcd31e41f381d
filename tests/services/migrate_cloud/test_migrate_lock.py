"""migrate-cloud holds the billingops deploy lock of the environment it writes (the target cloud's): a second
runner is refused or waits, `locks` lists it, a killed run's lock is broken with `unlock --deploy-lock`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run as run_cli

ENV = ["--env", "dev"]
TARGET = ["--cloud", "gcp"]  # migrate aws -> gcp writes dev on gcp: that environment's lock is taken
LEDGER_ROWS = 250_000


def write_project(root: Path) -> Path:
    """dev on gcp keeps its terraform state (and so its deploy lock) in a local backend."""
    for cloud in ("aws", "gcp"):
        (root / f"tf-{cloud}" / "envs").mkdir(parents=True, exist_ok=True)
        (root / f"tf-{cloud}" / "main.tf").write_text("terraform {}\n")
    (root / "billingops.toml").write_text(
        '[project]\nstate_dir = ".billingops"\n'
        '[environments.dev]\ncloud = "aws"\n'
        '[environments.dev.aws]\nregion = "us-east-1"\nterraform_dir = "tf-aws"\n'
        '[environments.dev.gcp]\nproject = "billing-dev"\nregion = "us-central1"\nterraform_dir = "tf-gcp"\n'
    )
    return root


@pytest.fixture
def project(tmp_path) -> Path:
    return write_project(tmp_path / "project")


class Run:
    """A migrate-cloud process whose JSON-lines progress (stderr) is read as it comes."""

    def __init__(self, cwd: Path, source: str, target: str, *extra: str) -> None:
        argv = [sys.executable, "-m", "billingops", "migrate-cloud", "aws", "gcp", *ENV, "--only", "postgres",
                "--source-postgres", source, "--target-postgres", target, "--json", "--jobs", "1",
                "--split-larger-than", "2", *extra]
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self.lines.append("")  # end of output
            self._seen.notify_all()

    def wait_for_text(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with self._seen:
            while not any(text in line for line in self.lines):
                if "" in self.lines or not self._seen.wait(max(0.1, deadline - time.monotonic())) \
                        and time.monotonic() > deadline:
                    raise AssertionError(f"no {text!r} within {timeout}s: {''.join(self.lines)[-3000:]}")

    def wait_for(self, event: str, timeout: float = 120) -> dict:
        seen = 0
        with self._seen:
            while True:
                while seen < len(self.lines):
                    line = self.lines[seen]
                    seen += 1
                    if line == "":
                        raise AssertionError(f"the run ended before {event}: {''.join(self.lines)[-3000:]}")
                    if line.startswith("{") and json.loads(line).get("event") == event:
                        return json.loads(line)
                if not self._seen.wait(timeout):
                    raise AssertionError(f"no {event} within {timeout}s")

    def finish(self, timeout: float = 300) -> tuple[int, dict | None, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        self._reader.join(timeout=10)
        return self.proc.returncode, (json.loads(out) if out.strip() else None), "".join(self.lines)


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd)


def deploy_locks(cwd: Path) -> list[dict]:
    result = cli(cwd, "locks", *ENV, *TARGET, "--json")
    assert result.returncode == 0, result.stderr
    return [lock for lock in json.loads(result.stdout)["locks"] if lock["kind"] == "deploy"]


def journal(cwd: Path) -> dict:
    (path,) = (cwd / ".billingops" / "runs").glob("*.json")
    return json.loads(path.read_text())


def count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def test_an_unreachable_lock_store_is_exit_3_naming_no_lock_and_dry_run_takes_no_lock(tmp_path, billing_source,
                                                                                      empty_target):
    # no billingops.toml: prod on gcp keeps its state in a GCS bucket this machine cannot reach
    argv = ["migrate-cloud", "aws", "gcp", "--env", "prod", "--only", "postgres", "--source-postgres",
            billing_source, "--target-postgres", empty_target]
    result = cli(tmp_path, *argv)
    assert result.returncode == 3, result.stderr
    assert "deploy lock of prod (gcp" in result.stderr and "--no-lock" in result.stderr
    assert "Traceback" not in result.stderr
    assert count(empty_target, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                               "('pg_catalog', 'information_schema')") == 0, "nothing was copied without the lock"
    assert cli(tmp_path, *argv, "--dry-run").returncode == 0


@pytest.mark.slow
def test_lock_is_held_during_the_run_refuses_a_second_runner_and_is_released(project, big_source, empty_target,
                                                                          target_pg):
    first = Run(project, big_source, empty_target)
    first.wait_for("range_done")
    # The first run is paused while the others ask for the lock: a fast copy must not end (and release the lock)
    # before they do. Paused well within its heartbeat's staleness (3 x 30 s), it still counts as live.
    os.kill(first.proc.pid, signal.SIGSTOP)
    try:
        run_id = journal(project)["run_id"]
        (lock,) = deploy_locks(project)
        assert lock["lock_id"] == run_id and lock["operation"] == "billingops migrate-cloud"
        assert lock["liveness"]["status"] == "live"

        other_target = target_pg.createdb("lock_second")
        second = cli(project, "migrate-cloud", "aws", "gcp", *ENV, "--only", "postgres", "--source-postgres",
                     big_source, "--target-postgres", other_target)
        assert second.returncode == 4, second.stderr
        assert "held by" in second.stderr and run_id in second.stderr and "migrate-cloud" in second.stderr
        assert count(other_target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0

        # --lock-wait: a third runner waits for the first to finish, then migrates into its own target.
        third = Run(project, big_source, other_target, "--lock-wait", "5m")
        third.wait_for_text("waiting up to")
    finally:
        os.kill(first.proc.pid, signal.SIGCONT)
    code, doc, err = first.finish()
    assert code == 0 and doc["ok"], err[-3000:]
    code, doc, err = third.finish()
    assert code == 0 and doc["ok"], err[-3000:]
    assert "waiting up to" in err
    assert count(other_target, "SELECT count(*) FROM ledger") == LEDGER_ROWS
    assert deploy_locks(project) == [], "both runs released the lock"


@pytest.mark.slow
def test_a_killed_runs_lock_blocks_resume_until_unlock_breaks_it(project, big_source, empty_target):
    run = Run(project, big_source, empty_target)
    run.wait_for("range_done")
    os.killpg(run.proc.pid, signal.SIGKILL)
    run.finish()
    (lock,) = deploy_locks(project)
    assert lock["liveness"]["status"] == "dead", lock

    resume = ["migrate-cloud", "aws", "gcp", *ENV, "--only", "postgres", "--source-postgres", big_source,
              "--target-postgres", empty_target, "--json", "--resume"]
    blocked = cli(project, *resume)
    assert blocked.returncode == 4 and "unlock --env dev --cloud gcp --deploy-lock" in blocked.stderr, blocked.stderr
    assert journal(project)["status"] == "running", "a refused resume does not touch the run"

    broken = cli(project, "unlock", *ENV, *TARGET, "--deploy-lock", "--yes", "--older-than", "0s")
    assert broken.returncode == 0, broken.stderr
    resumed = cli(project, *resume)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout)["ok"]
    assert count(empty_target, "SELECT count(DISTINCT id) FROM ledger") == LEDGER_ROWS
    assert deploy_locks(project) == []
