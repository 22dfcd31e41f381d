"""Issue 13 (2): the deploy lock's heartbeat is a conditional write that never re-creates a broken lock,
and fencing raises LockLost (exit 4) once the record is not the holder's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from billingops.config import load_settings
from billingops.locks.deploy_lock import acquire
from billingops.locks.heartbeat import LockLost, fence_all
from tests.support.deploy_project import make_project


def _record(lock) -> Path:
    return Path(lock.location.removeprefix("file://"))


def test_heartbeat_renews_then_fences_once_the_record_is_gone(tmp_path, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_DEPLOY_LOCK_HEARTBEAT_SECONDS", "1h")  # renewals only where the test asks
    env = load_settings(cwd=make_project(tmp_path / "p")).env("dev")
    with acquire(env, "run-1", "deploy") as lock:
        record = _record(lock)
        first = json.loads(json.loads(record.read_text())["Info"])
        assert first["machine_id"] and first["heartbeat"] and first["heartbeat_every"] == 3600
        fence_all("step one")  # still ours: renewed
        renewed = json.loads(json.loads(record.read_text())["Info"])
        assert renewed["heartbeat"] > first["heartbeat"]
        record.unlink()  # broken by `unlock` elsewhere
        with pytest.raises(LockLost, match="no longer held by run run-1"):
            fence_all("step two")
        assert not record.exists()  # never re-created
    fence_all("after release")  # nothing held: nothing to check


def test_fencing_refuses_when_another_run_took_the_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_DEPLOY_LOCK_HEARTBEAT_SECONDS", "1h")
    env = load_settings(cwd=make_project(tmp_path / "p")).env("dev")
    with acquire(env, "run-1", "deploy") as lock:
        record = _record(lock)
        record.unlink()
        with acquire(env, "run-2", "deploy"):
            taken = record.read_text()
            with pytest.raises(LockLost):
                fence_all("apply")
            assert record.read_text() == taken  # the other run's record is untouched
