"""The audit log is a hash chain: edits, deletions and reorderings are caught; secrets never land in it."""

from __future__ import annotations

import json

from billingops import redact
from billingops.runs.audit import AuditLog
from billingops.runs.journal import Journal, iter_journals


def _log(tmp_path, n: int = 5) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(n):
        log.record("step.end", run_id="r1", env="dev", step=f"s{i}", outcome="ok")
    return log


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines()


def test_intact_chain_verifies(tmp_path):
    log = _log(tmp_path)
    assert log.verify() == []
    records = list(log.records())
    assert records[0]["prev"] == "0" * 64
    assert all(r["prev"] == p["hash"] for p, r in zip(records, records[1:], strict=False))


def test_edited_record_is_caught(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    record = json.loads(lines[2])
    record["outcome"] = "failed"
    lines[2] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    log.path.write_text("\n".join(lines) + "\n")
    problems = log.verify()
    assert problems and problems[0].line == 3 and "edited" in problems[0].problem


def test_deleted_record_is_caught(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    del lines[1]
    log.path.write_text("\n".join(lines) + "\n")
    problems = log.verify()
    assert problems and problems[0].line == 2 and "deleted" in problems[0].problem


def test_reordered_records_are_caught(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    lines[1], lines[3] = lines[3], lines[1]
    log.path.write_text("\n".join(lines) + "\n")
    assert log.verify()[0].line == 2


def test_truncated_tail_is_caught_by_history_verify(tmp_path, run_cli):
    (tmp_path / "billingops.toml").write_text('[project]\naudit_log = "audit.jsonl"\n')
    log = _log(tmp_path)
    lines = _lines(log)
    log.path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20] + "\n")
    result = run_cli("history", "--verify", cwd=tmp_path)
    assert result.returncode == 1
    assert "line 5" in result.stdout + result.stderr


def test_secrets_are_redacted_before_writing(tmp_path):
    redact.register("canary-S3cr3t-value")
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record("deploy.start", argv=["billingops", "--database-url", "postgresql://u:pw-canary-1@h/db",
                                     "--backend-config=secret_key=canary-S3cr3t-value"])
    text = log.path.read_text()
    assert "canary-S3cr3t-value" not in text and "pw-canary-1" not in text
    assert log.verify() == []


def test_journal_writes_are_atomic_and_readable(tmp_path):
    journal = Journal.create(tmp_path, command="deploy", env="dev", cloud="aws")
    for i in range(20):
        journal.set_step(f"s{i}", outcome="ok")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    loaded = Journal.find(tmp_path, journal.run_id)
    assert loaded is not None and len(loaded.data["steps"]) == 20
    (tmp_path / "garbage.json").write_text("{not json")
    assert [j.run_id for j in iter_journals(tmp_path)] == [journal.run_id]
