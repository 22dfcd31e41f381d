"""GCS backend locks held by a real terraform against fake-gcs-server."""

from __future__ import annotations

import json

import pytest

from tests.locks.conftest import audit_records, start_unlock_in_recheck

pytestmark = pytest.mark.slow

PREFIX = "billing/dev"


def _lock_blob(gcs, workspace="default"):
    return gcs["bucket"].get_blob(f"{PREFIX}/{workspace}.tflock")


def _project(make_project, gcs):
    project = make_project(
        '  backend "gcs" {}',
        f'bucket = "{gcs["name"]}"\nprefix = "{PREFIX}"\n',
        cloud="gcp",
        env={"STORAGE_EMULATOR_HOST": gcs["url"], "GOOGLE_OAUTH_ACCESS_TOKEN": "fake-token"},
    )
    project.init()
    return project


def test_dead_apply_lock_is_listed_broken_and_terraform_works_again(make_project, gcs_state, run_cli):
    project = _project(make_project, gcs_state)
    project.kill(project.start_apply(lambda: _lock_blob(gcs_state) is not None))
    generation = str(_lock_blob(gcs_state).generation)

    listed = run_cli("locks", "--env", "dev", "--json", **project.cli_args())
    assert listed.returncode == 0, listed.stderr
    (lock,) = json.loads(listed.stdout)["locks"]
    assert lock["lock_id"] == generation, "terraform names the object generation as the GCS lock id"
    assert lock["location"] == f"gs://{gcs_state['name']}/{PREFIX}/default.tflock"
    assert lock["liveness"]["status"] == "dead" and lock["who"]

    blocked = project.terraform("plan", "-input=false", "-lock-timeout=0s", check=False)
    assert blocked.returncode != 0 and generation in blocked.stderr

    result = run_cli(
        "unlock", "--env", "dev", "--lock-id", generation, "--yes", "--older-than", "0s", **project.cli_args()
    )
    assert result.returncode == 0, result.stderr
    assert "billingops deploy --env dev --resume" in result.stdout
    assert _lock_blob(gcs_state) is None
    project.terraform("plan", "-input=false", "-lock-timeout=0s")
    assert [r["outcome"] for r in audit_records(project) if r["event"] == "unlock"] == ["breaking", "broken"]


def test_live_holder_is_refused(make_project, gcs_state, run_cli):
    project = _project(make_project, gcs_state)
    holder = project.start_apply(lambda: _lock_blob(gcs_state) is not None)
    generation = _lock_blob(gcs_state).generation
    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 4, result.stderr
    assert f"terraform pid {holder.pid}" in result.stderr
    assert _lock_blob(gcs_state).generation == generation
    project.kill(holder)


def test_lock_retaken_during_recheck_is_not_deleted(make_project, gcs_state):
    project = _project(make_project, gcs_state)
    project.kill(project.start_apply(lambda: _lock_blob(gcs_state) is not None))
    unlock, seen = start_unlock_in_recheck(project)
    blob = _lock_blob(gcs_state)
    body = blob.download_as_bytes()
    blob.delete()
    gcs_state["bucket"].blob(blob.name).upload_from_string(body, if_generation_match=0)
    retaken = _lock_blob(gcs_state).generation
    out, err = unlock.communicate(timeout=60)
    err = "".join(seen) + err
    assert unlock.returncode == 4, out + err
    assert "changed while billingops was checking" in err
    assert _lock_blob(gcs_state).generation == retaken


def test_conditional_delete_keeps_a_lock_taken_after_the_read(gcs_state):
    from billingops.locks.backend_config import BackendConfig
    from billingops.locks.gcs import GcsLockStore
    from billingops.locks.model import LockChanged

    info = {
        "ID": "x",
        "Operation": "OperationTypeApply",
        "Who": "a@b",
        "Version": "1.11.4",
        "Created": "2020-01-01T00:00:00Z",
        "Path": "p",
        "Info": "",
    }
    name = f"{PREFIX}/default.tflock"
    gcs_state["bucket"].blob(name).upload_from_string(json.dumps(info), if_generation_match=0)
    store = GcsLockStore("dev", BackendConfig("gcs", {"bucket": gcs_state["name"], "prefix": PREFIX}), "default", None)
    held = store.read()
    assert held.lock_id == str(_lock_blob(gcs_state).generation) and held.info.who == "a@b"
    _lock_blob(gcs_state).delete()
    gcs_state["bucket"].blob(name).upload_from_string(json.dumps(info | {"Who": "new@holder"}), if_generation_match=0)
    with pytest.raises(LockChanged):
        store.delete(held)
    assert b"new@holder" in _lock_blob(gcs_state).download_as_bytes()


def test_non_default_workspace_and_nothing_to_unlock(make_project, gcs_state, run_cli):
    project = _project(make_project, gcs_state)
    nothing = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert nothing.returncode == 0 and "Nothing to unlock" in nothing.stdout
    project.terraform("workspace", "new", "feature")
    project.kill(project.start_apply(lambda: _lock_blob(gcs_state, "feature") is not None))
    (lock,) = json.loads(run_cli("locks", "--env", "dev", "--json", **project.cli_args()).stdout)["locks"]
    assert lock["workspace"] == "feature" and lock["location"].endswith(f"{PREFIX}/feature.tflock")
    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 0, result.stderr
    assert _lock_blob(gcs_state, "feature") is None
    project.terraform("plan", "-input=false", "-lock-timeout=0s")


def test_malformed_lock_object_is_not_deleted(make_project, gcs_state, run_cli):
    project = _project(make_project, gcs_state)
    gcs_state["bucket"].blob(f"{PREFIX}/default.tflock").upload_from_string("garbage")
    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 4 and "nothing was deleted" in result.stderr
    assert _lock_blob(gcs_state).download_as_bytes() == b"garbage"


def test_unreachable_emulator_exits_3(make_project, gcs_state, run_cli):
    project = _project(make_project, gcs_state)
    project.env["STORAGE_EMULATOR_HOST"] = "http://127.0.0.1:9"
    result = run_cli("locks", "--env", "dev", **project.cli_args())
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and "lock object" in result.stderr
