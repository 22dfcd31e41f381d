"""Issue 13 (2): the local deploy-lock record never looks absent while its holder renews it.

The renewal moves the record aside, checks it, then links the new one in. A holder frozen (or killed) between
those two renames left no record at `.billingops-deploy.lock`: `locks` said nothing was held and another run
could take the lock. CI caught it (a SIGSTOP landing inside a renewal slowed by fsync under load)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from billingops.locks.backend_config import BackendConfig
from billingops.locks.deploy_lock_stores import LocalDeployStore
from billingops.locks.model import LockChanged


def _record(run_id: str, beat: str) -> str:
    info = json.dumps({"pid": os.getpid(), "host": "here", "run_id": run_id, "heartbeat": beat})
    return json.dumps({"ID": run_id, "Operation": "deploy", "Who": "me@here", "Version": "billingops",
                       "Created": "2026-12-03T09:00:00Z", "Path": "", "Info": info})


def _store(tmp_path: Path) -> LocalDeployStore:
    config = BackendConfig("local", {"path": str(tmp_path / "state" / "dev.tfstate")})
    return LocalDeployStore("dev", config, "default", tmp_path)


def _frozen_mid_renewal(store: LocalDeployStore) -> Path:
    """Where a holder stopped between moving its record aside and linking the new one leaves it."""
    aside = store.info_file.with_name(f".billingops-deploy.renew.{os.getpid() + 1}")
    os.rename(store.info_file, aside)
    return aside


def test_a_record_moved_aside_by_a_renewal_is_still_read_as_held(tmp_path):
    store = _store(tmp_path)
    assert store.create(_record("run-1", "2026-12-03T09:00:00Z"))
    held = store.read()
    _frozen_mid_renewal(store)
    seen = store.read()
    assert seen is not None and seen.lock_id == "run-1" and seen.token == held.token
    assert seen.location == store.location  # one lock, one name, whatever the renewal is doing


def test_unlock_can_break_a_record_frozen_mid_renewal_and_the_holder_then_stops(tmp_path):
    store = _store(tmp_path)
    assert store.create(_record("run-1", "2026-12-03T09:00:00Z"))
    held = store.read()
    aside = _frozen_mid_renewal(store)
    store.delete(store.read())
    assert not aside.exists() and store.read() is None
    with pytest.raises(LockChanged):
        store.replace(held, _record("run-1", "2026-12-03T09:00:30Z"))
    assert store.read() is None  # the renewal never re-creates a broken lock


def test_a_renewal_leaves_no_moment_without_a_record(tmp_path, monkeypatch):
    store = _store(tmp_path)
    assert store.create(_record("run-1", "2026-12-03T09:00:00Z"))
    held = store.read()
    seen: list[object] = []
    real_link = os.link

    def observing_link(src, dst, *args, **kwargs):
        seen.append(LocalDeployStore.read(store))  # what another process reading right now would get
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", observing_link)
    renewed = store.replace(held, _record("run-1", "2026-12-03T09:00:30Z"))
    monkeypatch.undo()
    assert seen and all(s is not None for s in seen)
    assert store.read().token == renewed.token
    assert not list(store.info_file.parent.glob(".billingops-deploy.renew.*"))


def test_a_reader_racing_a_renewal_that_completes_between_its_two_reads_still_sees_the_lock(tmp_path, monkeypatch):
    """The reader finds no record in place (moved aside), then the renewal completes (new record linked in, the
    aside removed) before the reader looks aside: seen in CI as `locks` listing nothing while a holder renewed
    every 0.5 s. The reader looks in place again before it says the lock is free."""
    store = _store(tmp_path)
    assert store.create(_record("run-1", "2026-12-03T09:00:00Z"))
    aside = _frozen_mid_renewal(store)
    real_asides = LocalDeployStore._asides

    def renewal_completes_first(self: LocalDeployStore) -> list[Path]:
        if aside.exists():  # the holder links its new record in and drops the one set aside
            store.info_file.write_text(_record("run-1", "2026-12-03T09:00:30Z"))
            aside.unlink()
        return real_asides(self)

    monkeypatch.setattr(LocalDeployStore, "_asides", renewal_completes_first)
    seen = store.read()
    assert seen is not None and seen.lock_id == "run-1"
    assert json.loads(json.loads(seen.token)["Info"])["heartbeat"] == "2026-12-03T09:00:30Z"
