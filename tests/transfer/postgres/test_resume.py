"""Interrupted migrations: the whole billingops process or one COPY worker is SIGKILLed mid-table, then
`--resume` finishes the run without duplicating a row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from tests.support import migrate_cli

pytestmark = pytest.mark.slow

LEDGER_ROWS = 250_000


def start(tmp_path: Path, source: str, target: str, *extra: str) -> subprocess.Popen:
    argv = migrate_cli.argv(*migrate_cli.postgres(source, target), "--jobs", "1", "--split-larger-than", "2", *extra)
    return subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def wait_for_range(proc: subprocess.Popen, table: str = "public.ledger") -> None:
    """Read JSON-lines progress until one range of `table` is committed on the target."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if (
            line.startswith("{")
            and json.loads(line).get("event") == "range_done"
            and json.loads(line)["table"] == table
        ):
            return
    raise AssertionError(f"the run ended before copying a range of {table}: {proc.wait()}")


def count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def children(pid: int, name: str) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and comm == name:
            found.append(int(stat.parent.name))
    return found


def resume_and_check(run_cli, tmp_path, source: str, target: str) -> dict:
    result = run_cli(*migrate_cli.args(*migrate_cli.postgres(source, target), "--resume"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["resumed"]
    assert count(target, "SELECT count(*) FROM ledger") == LEDGER_ROWS
    assert count(target, "SELECT count(DISTINCT id) FROM ledger") == LEDGER_ROWS
    assert count(target, "SELECT count(*) FROM pg_indexes WHERE indexname IN ('ledger_pkey', 'ledger_account')") == 2
    return doc


def test_resume_after_billingops_is_killed_mid_table(run_cli, tmp_path, big_source, empty_target):
    proc = start(tmp_path, big_source, empty_target)
    wait_for_range(proc)
    os.killpg(proc.pid, signal.SIGKILL)  # billingops and its psql workers, like a lost SSH session with kill -9
    proc.wait(timeout=30)
    partial = count(empty_target, "SELECT count(*) FROM ledger")
    assert 0 < partial < LEDGER_ROWS
    journal = json.loads(next((tmp_path / ".billingops" / "runs").glob("*.json")).read_text())
    assert journal["status"] == "running" and journal["migrate"]["postgres"]["schema"] is True
    assert "public.ledger" not in journal["migrate"]["postgres"].get("tables_done", [])

    doc = resume_and_check(run_cli, tmp_path, big_source, empty_target)
    assert "schema" not in doc["postgres"]["seconds"]  # the finished step was not redone


def test_resume_after_a_copy_worker_is_killed(run_cli, tmp_path, big_source, empty_target):
    proc = start(tmp_path, big_source, empty_target)
    wait_for_range(proc)
    deadline = time.monotonic() + 20
    while not (workers := children(proc.pid, "psql")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workers, "no psql worker found"
    os.kill(workers[-1], signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "Copying public.ledger" in err and "--resume" in err
    resume_and_check(run_cli, tmp_path, big_source, empty_target)


def test_ctrl_c_stops_cleanly_and_resume_finishes(run_cli, tmp_path, big_source, empty_target):
    proc = start(tmp_path, big_source, empty_target)
    wait_for_range(proc)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to the foreground group on Ctrl-C
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    journal = json.loads(next((tmp_path / ".billingops" / "runs").glob("*.json")).read_text())
    assert journal["status"] == "interrupted"
    resume_and_check(run_cli, tmp_path, big_source, empty_target)
