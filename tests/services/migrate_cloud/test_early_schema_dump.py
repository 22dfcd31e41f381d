"""migrate-cloud starts the source's schema dump before it checks both sides: `pg_dump --schema-only` runs while
the preflight reads the servers (and while a consent prompt waits), not after them. A check that fails or a
refused consent stops it and leaves neither a pg_dump process nor its files behind."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from billingops.commands.common import Session
from billingops.config import load_settings
from billingops.console import Output
from billingops.errors import Refused
from billingops.services import migrate_cloud
from billingops.transfer.postgres import preflight as postgres_preflight
from tests.services.migrate_cloud.test_migrate_lock import write_project

pytestmark = pytest.mark.slow


def _migrate(project: Path, source: str, target: str) -> migrate_cloud.MigrateResult:
    session = Session(settings=load_settings(cwd=project), output=Output(), env_name="dev", cloud=None, yes=True,
                      argv=[])
    request = migrate_cloud.MigrateRequest(source="aws", target="gcp", only="postgres", source_postgres=source,
                                           target_postgres=target, verify="counts", no_lock=True)
    return migrate_cloud.run(session, request)


def _dump_files(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".billingops" / "runs").glob("*.postgres/schema.dump*"))


def _our_pg_dumps() -> list[int]:
    """pg_dump children of this process, running or not yet reaped."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
        except OSError:
            continue
        name, _, fields = rest.rpartition(") ")
        if name.lstrip("(") == "pg_dump" and int(fields.split()[1]) == os.getpid():
            found.append(int(pid))
    return found


def test_the_schema_dump_runs_while_both_sides_are_checked(tmp_path, billing_source, empty_target, monkeypatch):
    project = write_project(tmp_path / "project")
    seen: list[list[str]] = []
    real = postgres_preflight.preflight

    def preflight(*args: Any, **kw: Any) -> Any:
        # pg_dump opens its output file before it connects: the dump has started once its file is there.
        deadline = time.monotonic() + 30
        while not _dump_files(project) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(_dump_files(project))
        return real(*args, **kw)

    monkeypatch.setattr(postgres_preflight, "preflight", preflight)
    result = _migrate(project, billing_source, empty_target)
    assert seen and seen[0], "no schema dump had started while the preflight ran"
    assert result.document["ok"] is True
    assert _dump_files(project) == []  # a finished run keeps no dump
    assert _our_pg_dumps() == []


def test_a_refused_run_leaves_no_dump_behind(tmp_path, billing_source, empty_target):
    project = write_project(tmp_path / "project")
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("CREATE TABLE precious (id int)")
    with pytest.raises(Refused):
        _migrate(project, billing_source, empty_target)
    assert _our_pg_dumps() == []
    assert _dump_files(project) == []
    assert not list((project / ".billingops" / "runs").glob("*.postgres"))


def test_a_failed_check_leaves_no_dump_behind(tmp_path, billing_source, empty_target, monkeypatch):
    project = write_project(tmp_path / "project")

    def preflight(*args: Any, **kw: Any) -> Any:
        while not _dump_files(project):  # the dump is under way when the check fails
            time.sleep(0.01)
        raise Refused("the check failed", hint="test")

    monkeypatch.setattr(postgres_preflight, "preflight", preflight)
    with pytest.raises(Refused):
        _migrate(project, billing_source, empty_target)
    assert _our_pg_dumps() == []
    assert not list((project / ".billingops" / "runs").glob("*.postgres"))
