"""Issue 13 (2): the deploy lock has one owner at a time. Two real billingops processes and real terraform:
a holder that stops heartbeating (SIGSTOP) can have its lock broken; woken up (SIGCONT) it stops at its next
step with exit 4 and writes nothing; a holder with a live heartbeat cannot have its lock broken."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.deploy_project import journals, make_project, step_outcomes

pytestmark = pytest.mark.slow

STEPS = ("preflight", "init", "plan", "approval", "apply")
EARLY = ("preflight", "init", "plan")  # steps that write nothing: the holder is frozen in one of them
BEAT = {"BILLINGOPS_DEPLOY_LOCK_HEARTBEAT_SECONDS": "1s", "BILLINGOPS_UNLOCK_RECHECK_SECONDS": "0s"}


def _start(project: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "billingops", "deploy", "--env", "dev", "--yes"], cwd=project,
                            env={**os.environ, **BEAT}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float = 60, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


def _running_step(project: Path) -> str | None:
    runs = journals(project) if (project / ".billingops" / "runs").exists() else []
    for step in runs[-1]["steps"] if runs else []:
        if step["outcome"] == "running":
            return str(step["name"])
    return None


def _deploy_lock(run_cli, project: Path) -> dict | None:
    doc = json.loads(run_cli("locks", "--env", "dev", "--json", cwd=project).stdout)
    found = [lock for lock in doc["locks"] if lock["kind"] == "deploy"]
    return found[0] if found else None


def _resources(project: Path) -> list[str]:
    state = project / "state" / "dev.tfstate"
    return [r["name"] for r in json.loads(state.read_text())["resources"]] if state.exists() else []


def test_a_frozen_holder_loses_its_lock_and_stops_at_its_next_step_without_writing(tmp_path, tf_env, run_cli):
    project = make_project(tmp_path / "p")
    first = _start(project)
    try:
        _wait_for(lambda: _running_step(project) in EARLY)
        os.kill(first.pid, signal.SIGSTOP)  # frozen: no heartbeat, no step boundary
        # Read where it froze only now: between the poll and the signal it may have moved on a step.
        at_freeze = step_outcomes(journals(project)[-1])
        lock = _wait_for(lambda: _deploy_lock(run_cli, project))
        assert lock["liveness"]["status"] == "live" or "heartbeat" in json.dumps(lock["liveness"])
        assert "machine id" in " ".join(lock["liveness"]["reasons"])
        time.sleep(4)  # beats every 1s: stale after 3s
        lock = _deploy_lock(run_cli, project)
        assert lock["liveness"]["status"] == "dead", lock["liveness"]
        assert lock["heartbeat_age_seconds"] > 3
        broken = run_cli("unlock", "--env", "dev", "--deploy-lock", "--older-than", "1s", "--yes", cwd=project,
                         env=BEAT)
        assert broken.returncode == 0, broken.stderr
        os.kill(first.pid, signal.SIGCONT)
        _, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
            first.kill()
    assert first.returncode == 4, stderr
    assert "no longer held by run" in stderr and "--resume" in stderr
    run = journals(project)[-1]
    outcomes = step_outcomes(run)
    done = [name for name in STEPS if at_freeze.get(name) == "ok"]
    # The step it froze in had either passed its fence (it finishes, and the next step's fence stops the run)
    # or not (its own fence stops it): either way the run stops at a step boundary.
    stopped_at = [name for name, outcome in outcomes.items() if outcome != "ok"]
    assert [outcomes[name] for name in done] == ["ok"] * len(done), (at_freeze, outcomes)
    assert len(stopped_at) == 1 and outcomes[stopped_at[0]] == "failed", (at_freeze, outcomes)
    assert tuple(outcomes) == STEPS[: STEPS.index(stopped_at[0]) + 1], (at_freeze, outcomes)
    assert STEPS.index(stopped_at[0]) <= len(done) + 1, (at_freeze, outcomes)  # no step started after the wake
    assert "no longer held by run" in run["steps"][-1]["detail"], run["steps"][-1]
    assert run["status"] == "failed"  # resumable
    assert _resources(project) == []  # nothing was written
    assert _deploy_lock(run_cli, project) is None  # it did not delete or re-create anyone's record


def test_unlock_refuses_while_the_holder_heartbeats(tmp_path, tf_env, run_cli):
    project = make_project(tmp_path / "p", tfvars='environment = "dev"\nsleep_seconds = 30\n')
    first = _start(project)
    try:
        _wait_for(lambda: _running_step(project) == "apply")
        time.sleep(4)  # older than --older-than and than a stale heartbeat would be: only the heartbeat protects
        refused = run_cli("unlock", "--env", "dev", "--deploy-lock", "--older-than", "1s", "--yes", cwd=project,
                          env=BEAT)
        assert refused.returncode == 4, refused.stderr
        assert "renewed its heartbeat" in refused.stderr
        lock = _deploy_lock(run_cli, project)
        assert lock["liveness"]["status"] == "live" and lock["heartbeat_age_seconds"] < 3
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)


def test_fencing_stops_a_holder_whose_record_was_removed_behind_its_back(tmp_path, tf_env, run_cli):
    """What `unlock` on another host does after the age rule: the record goes while the holder is frozen."""
    project = make_project(tmp_path / "p")
    first = _start(project)
    try:
        _wait_for(lambda: _running_step(project) in EARLY)
        os.kill(first.pid, signal.SIGSTOP)
        record = Path(_wait_for(lambda: _deploy_lock(run_cli, project))["location"].removeprefix("file://"))
        assert record.is_file(), record
        record.unlink()
        os.kill(first.pid, signal.SIGCONT)
        _, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
            first.kill()
    assert first.returncode == 4, stderr
    assert _resources(project) == []
    assert not record.exists()  # the heartbeat never re-creates a broken lock
