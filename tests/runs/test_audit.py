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


def test_a_frozen_writer_holding_the_audit_lock_is_a_bounded_clear_error(tmp_path, monkeypatch):
    """A run stopped (Ctrl-Z, SIGSTOP, a hung disk) while it writes an audit record holds the audit log's lock:
    the next writer (e.g. `unlock` breaking that run's deploy lock) waits a bounded time, then fails saying who
    holds it, instead of hanging for ever (seen in CI: `unlock` blocked 600 s on a frozen deploy)."""
    import signal
    import subprocess
    import sys
    import threading

    from billingops.errors import ExternalError

    path = tmp_path / "audit.jsonl"
    AuditLog(path).record("first")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, signal, sys\n"
         f"fh = open({str(path)!r}, 'a+')\nfcntl.flock(fh, fcntl.LOCK_EX)\nprint('locked', flush=True)\n"
         "os.kill(os.getpid(), signal.SIGSTOP)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("BILLINGOPS_AUDIT_LOCK_TIMEOUT", "1")
        outcome: list[BaseException | None] = []

        def write() -> None:
            try:
                AuditLog(path).record("second")
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001  # handed to the test thread
                outcome.append(exc)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        writer.join(timeout=30)
        assert not writer.is_alive(), "the audit write is still waiting for the frozen holder's lock"
        error = outcome[0]
        assert isinstance(error, ExternalError), error
        assert str(holder.pid) in error.message and "stopped" in error.message, error.message
        assert "nothing" in error.message.lower() or "not" in error.message.lower()
        assert error.hint
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.kill()
        holder.wait(timeout=10)
    assert [r["event"] for r in AuditLog(path).records()] == ["first"]
    assert AuditLog(path).verify() == []
