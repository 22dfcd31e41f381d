"""Issue 13 (2), fencing inside a long write: a rollout checks it still owns its deploy lock before each service
update call (ECS RegisterTaskDefinition / UpdateService, Cloud Run UpdateService). The record is taken away
between two writes (a real local deploy lock, deleted as `unlock` on another host would); the next update
never reaches moto / the Cloud Run fake and the rollout stops with LockLost (exit 4)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from billingops.clouds.rollout import Waiting
from billingops.locks.heartbeat import LockLost, fence_all
from tests.services.rollout.conftest import PROJECT, REGION, SERVICE, SERVICE_NAME, ScriptedEcs
from tests.services.rollout.test_aws_rollout import NEW as ECS_NEW
from tests.services.rollout.test_aws_rollout import _adapter as ecs_adapter
from tests.services.rollout.test_aws_rollout import _service_td
from tests.services.rollout.test_gcp_rollout import NEW, OLD, _patches
from tests.services.rollout.test_gcp_rollout import _adapter as run_adapter
from tests.support import gcp_fake_run


@contextlib.contextmanager
def held_lock(root: Path) -> Iterator[Path]:
    """The dev environment's deploy lock, held by this process (heartbeat and all); yields its record file."""
    from billingops.config import load_settings
    from billingops.locks import deploy_lock

    (root / "tf").mkdir(parents=True)  # no remote backend: the deploy lock is a local file there
    (root / "billingops.toml").write_text('[environments.dev]\ncloud = "aws"\nterraform_dir = "tf"\n')
    env = load_settings(cwd=root).env("dev")
    with deploy_lock.acquire(env, "fencing-run-1", "rollout") as lock:
        record = Path(lock.location.removeprefix("file://"))
        assert record.is_file(), record
        yield record


def _taken_away_on(record: Path, marker: str, seen: list[str]):
    def progress(line: str) -> None:
        seen.append(line)
        if marker in line and record.exists():
            record.unlink()  # between two writes the record goes

    return progress


@pytest.mark.slow
def test_ecs_rollout_that_lost_its_lock_makes_no_further_update_service_call(ecs_setup, tmp_path):
    ecs = ScriptedEcs(ecs_setup["ecs"], [{"rolloutState": "FAILED", "rolloutStateReason": "tasks failed"}])
    seen: list[str] = []
    with held_lock(tmp_path) as record, pytest.raises(LockLost) as lost:
        ecs_adapter(ecs, fence=fence_all).deploy(ECS_NEW, health=None, waiting=Waiting(timeout=5, poll=0.01),
                                                 progress=_taken_away_on(record, "rolling back to", seen))
    assert lost.value.exit_code == 4 and "no longer held by run fencing-run-1" in lost.value.message
    assert len(ecs.updates) == 1 and ecs.updates[0].endswith("billing-dev:2"), ecs.updates  # no rollback update
    assert _service_td(ecs_setup["ecs"]).endswith("billing-dev:2")
    assert not record.exists()


def test_cloud_run_rollout_that_lost_its_lock_makes_no_further_update_service_call(run_fake, app, tmp_path):
    gcp_fake_run.seed_service(run_fake, PROJECT, REGION, SERVICE, image=OLD)
    seen: list[str] = []
    with held_lock(tmp_path) as record, pytest.raises(LockLost) as lost:
        run_adapter(run_fake, fence=fence_all).deploy(
            NEW, health=None, waiting=Waiting(timeout=10, poll=0.05), canary=(50, 100),
            progress=_taken_away_on(record, "traffic:", seen))
    assert lost.value.exit_code == 4
    assert len(_patches(run_fake)) == 1, seen  # the revision was created; traffic was never moved
    assert gcp_fake_run.serving(run_fake, SERVICE_NAME) == {"billing-dev-00001-abc": 100}
