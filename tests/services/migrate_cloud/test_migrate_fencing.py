"""Issue 13 (2), fencing inside a long write: migrate-cloud checks it still owns its deploy lock before each
table copy unit and each index or key build. The run is frozen (SIGSTOP, its psql pipes keep copying) while its
first table copies, its record is deleted as `unlock` on another host would, and it is woken: the next table is
never copied, the first table's indexes never built, the run ends with exit 4, and --resume does the rest."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psycopg
import pytest

from tests.services.migrate_cloud.test_migrate_lock import ENV, Run, cli, count, deploy_locks, journal, write_project

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path) -> Path:
    return write_project(tmp_path / "project")


def _copying(target: str, table: str) -> bool:
    with psycopg.connect(target, autocommit=True) as conn:
        return bool(conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE %s",
            (f"%COPY %{table}% FROM STDIN%",)).fetchone()[0])


def _wait_for(predicate, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_a_migration_that_lost_its_lock_copies_no_further_table(project, big_source, empty_target):
    # One COPY pipe, no split: `ledger` (biggest first) is one unit, `small` the next.
    run = Run(project, big_source, empty_target, "--split-larger-than", "100000")
    try:
        _wait_for(lambda: _copying(empty_target, "ledger"))
        os.kill(run.proc.pid, signal.SIGSTOP)  # billingops only: its psql pipe goes on copying ledger
        (lock,) = deploy_locks(project)
        record = Path(lock["location"].removeprefix("file://"))
        record.unlink()
    finally:
        os.kill(run.proc.pid, signal.SIGCONT)
    code, doc, err = run.finish()
    assert code == 4, err[-3000:]
    shown = json.dumps(doc) + err  # --json: the error document is on stdout
    assert "no longer held by run" in shown, shown[-3000:]
    # whichever write came first after the wake-up: the next table's copy or the first table's index build
    assert "before copying public.small" in shown or "before building indexes-public.ledger" in shown, shown[-3000:]
    assert count(empty_target, "SELECT count(*) FROM small") == 0, "the next table was not copied"
    # ledger's rows were in when the run woke, but its key and index are writes too: never built without the lock
    assert count(empty_target, "SELECT count(*) FROM pg_indexes WHERE tablename = 'ledger'") == 0
    state = journal(project)
    assert state["status"] == "refused", state["status"]  # unfinished: --resume takes it up
    assert deploy_locks(project) == [] and not record.exists()  # nobody re-created the broken record

    resume = cli(project, "migrate-cloud", "aws", "gcp", *ENV, "--only", "postgres", "--source-postgres",
                 big_source, "--target-postgres", empty_target, "--json", "--resume")
    assert resume.returncode == 0, resume.stderr[-3000:]
    assert count(empty_target, "SELECT count(*) FROM small") == 100
    assert count(empty_target, "SELECT count(*) FROM ledger") == 250_000
