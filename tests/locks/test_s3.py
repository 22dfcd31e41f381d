"""S3 backend locks held by a real terraform against moto: DynamoDB, the S3 lockfile, and both at once."""

from __future__ import annotations

import json

import pytest

from tests.locks.conftest import audit_records, s3_backend_hcl, start_unlock_in_recheck

pytestmark = pytest.mark.slow

KEY = "dev/terraform.tfstate"
MODES = {"dynamodb": ("tf-locks", False), "lockfile": (None, True), "both": ("tf-locks", True)}


def _lock_item(aws, state=f"billing-tfstate/{KEY}"):
    return aws["dynamodb"].get_item(TableName="tf-locks", Key={"LockID": {"S": state}}, ConsistentRead=True).get("Item")


def _lockfile(aws, key=f"{KEY}.tflock"):
    try:
        return aws["s3"].get_object(Bucket="billing-tfstate", Key=key)["Body"].read()
    except aws["s3"].exceptions.NoSuchKey:
        return None


def _held(aws, mode, state_key=KEY):
    table, lockfile = MODES[mode]
    found = []
    if table:
        found.append(_lock_item(aws, f"billing-tfstate/{state_key}") is not None)
    if lockfile:
        found.append(_lockfile(aws, f"{state_key}.tflock") is not None)
    return all(found)


def _project(make_project, aws, mode, extra=""):
    table, lockfile = MODES[mode]
    project = make_project(
        '  backend "s3" {}',
        s3_backend_hcl(aws["url"], bucket=aws["bucket"], table=table, lockfile=lockfile, extra=extra),
    )
    project.init()
    # a first, quick apply writes the state and (with DynamoDB) its "-md5" digest item
    project.terraform("apply", "-auto-approve", "-input=false", "-var", "sleep=0")
    return project


@pytest.mark.parametrize("mode", list(MODES))
def test_dead_apply_lock_is_listed_broken_and_terraform_works_again(make_project, aws_state, run_cli, mode):
    project = _project(make_project, aws_state, mode)
    digest_before = _lock_item(aws_state, f"billing-tfstate/{KEY}-md5")
    holder = project.start_apply(lambda: _held(aws_state, mode))
    project.kill(holder)

    listed = run_cli("locks", "--env", "dev", "--json", **project.cli_args())
    assert listed.returncode == 0, listed.stderr
    locks = json.loads(listed.stdout)["locks"]
    assert {lock["store"] for lock in locks} == {
        "dynamodb": {"dynamodb"},
        "lockfile": {"s3-lockfile"},
        "both": {"dynamodb", "s3-lockfile"},
    }[mode]
    assert len({lock["lock_id"] for lock in locks}) == 1
    assert all(lock["operation"] == "OperationTypeApply" and lock["liveness"]["status"] == "dead" for lock in locks)

    blocked = project.terraform("plan", "-input=false", "-lock-timeout=0s", check=False)
    assert blocked.returncode != 0 and "Error acquiring the state lock" in blocked.stderr

    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip().splitlines()[-1] == "Resume the interrupted deploy: billingops deploy --env dev --resume"
    )
    assert not _lock_item(aws_state) and _lockfile(aws_state) is None
    if digest_before is not None:
        assert _lock_item(aws_state, f"billing-tfstate/{KEY}-md5") == digest_before, "the -md5 item was touched"
    project.terraform("plan", "-input=false", "-lock-timeout=0s")

    outcomes = [r["outcome"] for r in audit_records(project) if r["event"] == "unlock"]
    assert outcomes == ["breaking", "broken"]
    broken = audit_records(project)[-1]
    assert broken["lock"]["ID"] == locks[0]["lock_id"] and broken["lock"]["Who"]


@pytest.mark.parametrize("mode", ["dynamodb", "both"])
def test_live_terraform_holder_is_refused_and_lock_untouched(make_project, aws_state, run_cli, mode):
    project = _project(make_project, aws_state, mode)
    holder = project.start_apply(lambda: _held(aws_state, mode))
    before = _lock_item(aws_state)

    listed = run_cli("locks", "--env", "dev", "--json", **project.cli_args())
    assert {lock["liveness"]["status"] for lock in json.loads(listed.stdout)["locks"]} == {"live"}

    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 4, result.stderr
    assert f"terraform pid {holder.pid}" in result.stderr
    assert "Traceback" not in result.stderr
    assert holder.poll() is None
    assert _lock_item(aws_state) == before
    assert [r["outcome"] for r in audit_records(project) if r["event"] == "unlock"] == ["refused"]
    assert audit_records(project)[-1]["lock"]["ID"] == json.loads(before["Info"]["S"])["ID"]
    project.kill(holder)


def test_young_lock_no_tty_and_yes_without_older_than_are_refused(make_project, aws_state, run_cli):
    project = _project(make_project, aws_state, "both")
    project.kill(project.start_apply(lambda: _held(aws_state, "both")))

    young = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "1h", **project.cli_args())
    assert young.returncode == 4 and "younger than --older-than 1h" in young.stderr

    default_age = run_cli("unlock", "--env", "dev", **project.cli_args())
    assert default_age.returncode == 4 and "younger than the default --older-than 5m" in default_age.stderr

    no_tty = run_cli("unlock", "--env", "dev", "--older-than", "0s", **project.cli_args())
    assert no_tty.returncode == 4
    assert "--yes" in no_tty.stderr and "--older-than" in no_tty.stderr and "no terminal" in no_tty.stderr

    yes_only = run_cli("unlock", "--env", "dev", "--yes", **project.cli_args())
    assert yes_only.returncode == 4 and "explicit --older-than" in yes_only.stderr

    assert _held(aws_state, "both")
    assert [r["outcome"] for r in audit_records(project) if r["event"] == "unlock"] == ["refused"] * 3


def test_non_default_workspace(make_project, aws_state, run_cli):
    project = _project(make_project, aws_state, "both")
    project.terraform("workspace", "new", "feature")
    ws_key = f"env:/feature/{KEY}"
    project.kill(project.start_apply(lambda: _held(aws_state, "both", ws_key)))

    listed = json.loads(run_cli("locks", "--env", "dev", "--json", **project.cli_args()).stdout)["locks"]
    assert {lock["state"] for lock in listed} == {f"billing-tfstate/{ws_key}"}
    assert {lock["workspace"] for lock in listed} == {"feature"}
    default_ws = run_cli("locks", "--env", "dev", "--workspace", "default", "--json", **project.cli_args())
    assert json.loads(default_ws.stdout)["locks"] == []

    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 0, result.stderr
    assert not _held(aws_state, "dynamodb", ws_key) and _lockfile(aws_state, f"{ws_key}.tflock") is None
    project.terraform("plan", "-input=false", "-lock-timeout=0s")


def test_nothing_to_unlock_exits_zero(make_project, aws_state, run_cli):
    project = _project(make_project, aws_state, "both")
    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 0, result.stderr
    assert "Nothing to unlock" in result.stdout
    assert json.loads(run_cli("locks", "--env", "dev", "--json", **project.cli_args()).stdout)["locks"] == []


def test_malformed_item_is_reported_and_not_deleted(make_project, aws_state, run_cli):
    project = _project(make_project, aws_state, "dynamodb")
    item = {"LockID": {"S": f"billing-tfstate/{KEY}"}, "Info": {"S": "{not json"}}
    aws_state["dynamodb"].put_item(TableName="tf-locks", Item=item)

    listed = run_cli("locks", "--env", "dev", "--json", **project.cli_args())
    assert "not JSON" in json.loads(listed.stdout)["locks"][0]["malformed"]
    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 4
    assert "nothing was deleted" in result.stderr and "Traceback" not in result.stderr
    assert "aws dynamodb delete-item --table-name tf-locks" in result.stderr
    assert _lock_item(aws_state) == item


def test_unreachable_endpoint_exits_3(make_project, aws_state, run_cli):
    project = _project(make_project, aws_state, "both")
    dead = "http://127.0.0.1:9"
    result = run_cli(
        "unlock",
        "--env",
        "dev",
        "--yes",
        "--older-than",
        "0s",
        "--backend-config",
        f'endpoints={{ s3 = "{dead}", dynamodb = "{dead}" }}',
        **project.cli_args(),
    )
    assert result.returncode == 3, result.stderr
    assert "DynamoDB" in result.stderr and "endpoint" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    listed = run_cli(
        "locks",
        "--env",
        "dev",
        "--backend-config",
        f'endpoints={{ s3 = "{dead}", dynamodb = "{dead}" }}',
        **project.cli_args(),
    )
    assert listed.returncode == 3


def test_lock_retaken_during_recheck_is_not_deleted(make_project, aws_state):
    project = _project(make_project, aws_state, "dynamodb")
    project.kill(project.start_apply(lambda: _held(aws_state, "dynamodb")))
    unlock, seen = start_unlock_in_recheck(project)
    fresh = dict(_lock_item(aws_state))
    info = json.loads(fresh["Info"]["S"]) | {
        "ID": "11111111-2222-3333-4444-555555555555",
        "Who": "ci@runner-7",
    }
    fresh["Info"] = {"S": json.dumps(info)}
    aws_state["dynamodb"].put_item(TableName="tf-locks", Item=fresh)
    out, err = unlock.communicate(timeout=60)
    err = "".join(seen) + err
    assert unlock.returncode == 4, out + err
    assert "changed while billingops was checking" in err
    assert _lock_item(aws_state) == fresh


def test_conditional_delete_keeps_a_lock_taken_after_the_read(make_project, aws_state):
    from billingops.locks.backend_config import BackendConfig
    from billingops.locks.model import LockChanged
    from billingops.locks.s3_dynamodb import DynamoDBLockStore
    from billingops.locks.s3_lockfile import S3LockfileStore

    config = BackendConfig(
        "s3",
        {
            "bucket": "billing-tfstate",
            "key": KEY,
            "dynamodb_table": "tf-locks",
            "endpoints": {"s3": aws_state["url"], "dynamodb": aws_state["url"]},
            "use_path_style": True,
        },
    )
    info = {
        "ID": "a",
        "Operation": "OperationTypeApply",
        "Who": "x@y",
        "Version": "1.11.4",
        "Created": "2020-01-01T00:00:00Z",
        "Path": "p",
        "Info": "",
    }
    aws_state["dynamodb"].put_item(
        TableName="tf-locks",
        Item={"LockID": {"S": f"billing-tfstate/{KEY}"}, "Info": {"S": json.dumps(info)}},
    )
    aws_state["s3"].put_object(Bucket="billing-tfstate", Key=f"{KEY}.tflock", Body=json.dumps(info).encode())
    stores = [
        DynamoDBLockStore("dev", config, "default", "us-east-1"),
        S3LockfileStore("dev", config, "default", "us-east-1"),
    ]
    held = [store.read() for store in stores]
    retaken = json.dumps(info | {"ID": "b"})
    aws_state["dynamodb"].put_item(
        TableName="tf-locks", Item={"LockID": {"S": f"billing-tfstate/{KEY}"}, "Info": {"S": retaken}}
    )
    aws_state["s3"].put_object(Bucket="billing-tfstate", Key=f"{KEY}.tflock", Body=retaken.encode())
    for store, lock in zip(stores, held, strict=True):
        with pytest.raises(LockChanged):
            store.delete(lock)
    assert json.loads(_lock_item(aws_state)["Info"]["S"])["ID"] == "b"
    assert json.loads(_lockfile(aws_state))["ID"] == "b"


def test_wrong_lock_id_is_refused(make_project, aws_state, run_cli):
    project = _project(make_project, aws_state, "dynamodb")
    project.kill(project.start_apply(lambda: _held(aws_state, "dynamodb")))
    result = run_cli(
        "unlock",
        "--env",
        "dev",
        "--lock-id",
        "not-the-id",
        "--yes",
        "--older-than",
        "0s",
        **project.cli_args(),
    )
    assert result.returncode == 4 and "not not-the-id" in result.stderr
    lock_id = json.loads(_lock_item(aws_state)["Info"]["S"])["ID"]
    result = run_cli(
        "unlock", "--env", "dev", "--lock-id", lock_id, "--yes", "--older-than", "0s", **project.cli_args()
    )
    assert result.returncode == 0, result.stderr
    assert _lock_item(aws_state) is None
