"""Issue 13 (2), fencing inside a long write: `db migrate` checks it still owns its deploy lock before each
migration file. The record is taken away while the first file runs (held on a PostgreSQL advisory lock the
test owns); the second file is never applied and the run ends with exit 4; a rerun resumes at that file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from billingops.services.db_migrate.runner import LEDGER
from tests.services.db_migrate.conftest import write

GATE = 730_001  # the advisory lock the first migration waits on


def _project(root: Path) -> Path:
    write(root / "migrations", "0001_a.sql", f"SELECT pg_advisory_xact_lock({GATE});\nCREATE TABLE a (id int);")
    write(root / "migrations", "0002_b.sql", "CREATE TABLE b (id int);")
    (root / "tf").mkdir(exist_ok=True)  # no remote backend: the deploy lock is a local file there
    (root / "billingops.toml").write_text(
        '[environments.dev]\ncloud = "aws"\nmigrations_dir = "migrations"\nterraform_dir = "tf"\n'
    )
    return root


def _wait_for(predicate, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def _deploy_lock(run_cli, project: Path) -> dict | None:
    doc = json.loads(run_cli("locks", "--env", "dev", "--json", cwd=project).stdout)
    found = [lock for lock in doc["locks"] if lock["kind"] == "deploy"]
    return found[0] if found else None


def test_a_migration_run_that_lost_its_lock_applies_no_further_file(run_cli, tmp_path, db_url):
    project = _project(tmp_path / "p")
    env = {**os.environ, "BILLINGOPS_DATABASE_URL": db_url}
    with psycopg.connect(db_url, autocommit=True) as gate:
        gate.execute("SELECT pg_advisory_lock(%s)", (GATE,))
        proc = subprocess.Popen([sys.executable, "-m", "billingops", "db", "migrate", "--env", "dev", "--json"],
                                cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_for(lambda: gate.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
                (GATE,)).fetchone()[0])  # the first file is running, waiting on the gate
            record = Path(_wait_for(lambda: _deploy_lock(run_cli, project))["location"].removeprefix("file://"))
            record.unlink()  # what `unlock` on another host does: the record goes while the holder writes
            gate.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 4, err
    assert "no longer held by run" in err and "0002_b.sql" in err
    with psycopg.connect(db_url) as conn:
        assert [r[0] for r in conn.execute(f"SELECT name FROM {LEDGER} ORDER BY version")] == ["a"]
        assert conn.execute("SELECT to_regclass('b')").fetchone()[0] is None  # never applied
    assert not record.exists()  # nobody re-created the broken record

    rerun = run_cli("db", "migrate", "--env", "dev", "--json", env={"BILLINGOPS_DATABASE_URL": db_url},
                    cwd=project)
    assert rerun.returncode == 0, rerun.stderr
    assert [s["name"] for s in json.loads(rerun.stdout)["applied"]] == ["0002_b.sql"]
