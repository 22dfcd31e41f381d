"""Issue 13 (4): the sandbox's throwaway PostgreSQL is not `trust` on 127.0.0.1. It gets a random password
per sandbox (scram-sha-256), kept 0600 in the sandbox's 0700 state folder and never printed: a connection
without it is refused, the migrations the sandbox runs use it."""

from __future__ import annotations

import json
import stat

import psycopg
import pytest

from billingops.sandbox.emulator import Sandbox


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(tmp_path / "state")
    try:
        yield box, box.up()[0]
    finally:
        box.down()


def test_the_sandbox_postgres_refuses_a_connection_without_its_password(sandbox, tmp_path, run_cli):
    box, info = sandbox
    assert info.postgres_port
    plain = f"postgresql://postgres@127.0.0.1:{info.postgres_port}/postgres"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(plain, connect_timeout=5).close()

    password_file = box.root / "postgres.password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(box.root.stat().st_mode) == 0o700
    password = password_file.read_text().strip()
    assert len(password) >= 24
    with psycopg.connect(info.connect_url(), connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "postgres"
        method = conn.execute("SELECT DISTINCT auth_method FROM pg_hba_file_rules "
                              "WHERE type IN ('host', 'local')").fetchall()
        assert method == [("scram-sha-256",)], method

    # Shown nowhere: not in the state file, not in `sandbox status` (text or JSON).
    assert password not in box.state_file.read_text()
    (tmp_path / "billingops.toml").write_text('[project]\nstate_dir = "state"\n')
    for argv in (["sandbox", "status"], ["sandbox", "status", "--json"]):
        shown = run_cli(*argv, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert password not in shown.stdout + shown.stderr
    doc = json.loads(run_cli("sandbox", "status", "--json", cwd=tmp_path).stdout)
    assert doc["database_url"] == plain  # where it is, without the password


def test_the_sandbox_migrations_run_with_the_password(sandbox, tmp_path):
    from billingops.config import load_settings
    from billingops.services.db_migrate import service

    _box, info = sandbox
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_a.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "billingops.toml").write_text('[environments.dev]\ncloud = "aws"\nmigrations_dir = "migrations"\n')
    env = load_settings(cwd=tmp_path).env("dev")
    report = service.migrate_direct(env, info.connect_url(), say=lambda line: None)
    assert [s.name for s in report.applied] == ["0001_a.sql"]
