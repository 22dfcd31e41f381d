"""A run killed after the schema's transaction committed on the target and before its journal recorded the
schema phase as done: the resumed run must not create the schema a second time ("relation already exists").

Seen in CI under load (tests/faults/test_migrate_kill.py, a kill point at a time offset): the resume ended with
exit 3, "Creating the schema on the target failed at TABLE "public.customers": relation "customers" already
exists". The schema transaction's id is now journaled before it commits, and the resumed run asks the target
whether that transaction committed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import psycopg
import pytest

from billingops.transfer.postgres import migrate as postgres_migrate
from billingops.transfer.postgres import preflight as postgres_preflight
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.progress import Reporter
from tests.support.quiet_ui import QuietUi


class Killed(BaseException):
    """The process died: nothing after this point ran, and the journal holds what was saved before."""


def _tables(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'billing'").fetchone()[0])


def _sides(source_url: str, target_url: str) -> tuple[PgEndpoint, PgEndpoint, Any]:
    source = PgEndpoint.parse(source_url, "source", "--source")
    target = PgEndpoint.parse(target_url, "target", "--target")
    return source, target, postgres_preflight.preflight(source, target)


def _resume(sides: tuple[PgEndpoint, PgEndpoint, Any], state: dict[str, Any], workdir: Path, verify: str) -> Any:
    """A resumed run (in this process) from the journaled `state`; returns its result."""
    with Reporter(QuietUi()) as reporter:
        return postgres_migrate.PgMigration(
            *sides, postgres_migrate.PgOptions(jobs=2, verify=verify, resumed=True), state, lambda: None, reporter,
            workdir,
        ).run()


def test_a_resume_after_the_schema_committed_unrecorded_does_not_create_it_again(billing_source, empty_target,
                                                                                   tmp_path: Path):
    sides = _sides(billing_source, empty_target)
    journal: dict[str, Any] = {}  # what the journal file holds: the state as of its last save
    state: dict[str, Any] = {}

    def save_then_die_recording_the_schema() -> None:
        if state.get("schema"):
            raise Killed  # the kill lands between the commit and this save
        journal.clear()
        journal.update(copy.deepcopy(state))

    with Reporter(QuietUi()) as reporter, pytest.raises(Killed):
        postgres_migrate.PgMigration(*sides, postgres_migrate.PgOptions(jobs=2), state,
                                     save_then_die_recording_the_schema, reporter, tmp_path / "work").run()
    assert _tables(empty_target) > 0, "the schema committed before the kill"
    assert "schema" not in journal and "pre_data_xid" in journal

    resumed_state = copy.deepcopy(journal)
    result = _resume(sides, resumed_state, tmp_path / "work", "full")
    assert result.verification is not None and result.verification.ok
    assert resumed_state.get("schema") is True


def test_a_schema_transaction_that_did_not_commit_is_redone(billing_source, empty_target, tmp_path: Path):
    """The journaled id of a transaction the kill rolled back: the resumed run creates the schema."""
    sides = _sides(billing_source, empty_target)
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("BEGIN")
        aborted = int(conn.execute("SELECT txid_current()").fetchone()[0])
        conn.execute("ROLLBACK")
    state: dict[str, Any] = {"pre_data_xid": aborted}
    result = _resume(sides, state, tmp_path / "work", "counts")
    assert result.verification is not None and result.verification.ok
    assert _tables(empty_target) > 0 and state["pre_data_xid"] != aborted
