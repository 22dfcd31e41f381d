"""Lock fields written by others (Who, Operation, Info, ID) reach the terminal with control characters
stripped, and the manual-delete hints quote their arguments."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta

from billingops.locks.model import HeldLock, LockInfo
from billingops.services.unlock.rules import manual_delete_command
from tests.locks.test_units import write_project

EVIL = "\x1b[2J\x1b]0;pwned\x07\r\x08"


def test_lock_fields_are_read_without_control_characters():
    info = LockInfo.from_json(json.dumps({
        "ID": f"id{EVIL}1", "Operation": f"Op{EVIL}", "Who": f"me{EVIL}@host", "Version": "1",
        "Created": "2026-01-01T00:00:00Z", "Path": f"p{EVIL}", "Info": f"i{EVIL}\nx",
    }))
    for value in info.as_terraform().values():
        assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value), repr(value)
    assert info.who == "me[2J]0;pwned@host" and info.id == "id[2J]0;pwned1"


def test_locks_view_strips_control_characters(tmp_path, run_cli):
    write_project(tmp_path, "", "")
    (tmp_path / "tf" / ".terraform.tfstate.lock.info").write_text(json.dumps({
        "ID": f"4c1b{EVIL}", "Operation": f"OperationTypeApply{EVIL}", "Who": f"mallory{EVIL}@elsewhere",
        "Version": "1.11.4", "Path": "", "Info": f"note{EVIL}",
        "Created": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }))
    shown = run_cli("locks", "--env", "dev", cwd=tmp_path)
    assert "mallory" in shown.stdout + shown.stderr
    assert "\x1b" not in shown.stdout + shown.stderr and "\x07" not in shown.stdout + shown.stderr


def test_manual_delete_hints_quote_their_arguments():
    evil = "bucket/key; rm -rf ~ $(id) 'x'"

    def words(location: str) -> list[str]:
        lock = HeldLock(env="dev", backend="x", store="x", location=location, state="s", workspace="default",
                        lock_id="1", info=None, token="7; echo hi")
        return shlex.split(manual_delete_command(lock))

    assert words(f"s3://b/{evil}") == ["aws", "s3api", "delete-object", "--bucket", "b", "--key", evil,
                                       "--if-match", "7; echo hi"]
    assert words(f"gs://{evil}") == ["gsutil", "-h", "x-goog-if-generation-match:7; echo hi", "rm", f"gs://{evil}"]
    assert words(f"/tmp/{evil}") == ["rm", f"/tmp/{evil}"]
    dynamo = words(f"dynamodb://table x/{evil}")
    assert dynamo[:5] == ["aws", "dynamodb", "delete-item", "--table-name", "table x"]
    assert json.loads(dynamo[6]) == {"LockID": {"S": evil}}
    assert dynamo[7:9] == ["--condition-expression", "Info = :info"]
    assert json.loads(dynamo[10]) == {":info": {"S": "7; echo hi"}} and len(dynamo) == 11
