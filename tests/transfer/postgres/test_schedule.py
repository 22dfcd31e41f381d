"""The data phase's critical path on one dominant table: its keys built first, then its indexes one per session,
side by side, while the rest of the migration goes on; the copied data and every object still exact.

The migration runs in-process so that the test can wrap the restores the scheduler starts: a barrier makes two
index builds of the big table meet, which only happens if they run at the same time (serial builds would wait
for each other until the barrier breaks and the migration fails)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from billingops.transfer.postgres import migrate as postgres_migrate
from billingops.transfer.postgres import preflight as postgres_preflight
from billingops.transfer.postgres import schema as postgres_schema
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.progress import Reporter
from tests.support.quiet_ui import QuietUi

pytestmark = pytest.mark.slow

BIG_ROWS = 200_000
SCHEMA = f"""
CREATE SCHEMA ledger;
CREATE TABLE ledger.accounts (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE ledger.entries (id bigint PRIMARY KEY, account_id int NOT NULL REFERENCES ledger.accounts (id),
    amount bigint NOT NULL, memo text NOT NULL);
CREATE INDEX entries_account_idx ON ledger.entries (account_id);
CREATE INDEX entries_amount_idx ON ledger.entries (amount);
CREATE INDEX entries_memo_idx ON ledger.entries (memo);
CREATE TABLE ledger.disputes (id int PRIMARY KEY, entry_id bigint NOT NULL REFERENCES ledger.entries (id));
INSERT INTO ledger.accounts SELECT g, 'account ' || g FROM generate_series(1, 500) g;
INSERT INTO ledger.entries SELECT g, 1 + g % 500, g % 9973, md5(g::text) || md5((g * 7)::text)
    FROM generate_series(1, {BIG_ROWS}) g;
INSERT INTO ledger.disputes SELECT g, 1 + g * 13 FROM generate_series(1, 300) g;
ANALYZE;
"""


@pytest.fixture(scope="module")
def dominant_source(source_pg) -> str:
    url = source_pg.createdb("dominant")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        size = conn.execute("SELECT pg_table_size('ledger.entries')").fetchone()[0]
    from billingops.transfer.postgres import data_phase

    assert size >= data_phase.PARALLEL_INDEX_BYTES  # the big table is big enough to get parallel builds
    return url


def test_big_table_keys_first_then_its_indexes_side_by_side(tmp_path: Path, dominant_source, empty_target,
                                                            monkeypatch):
    log: list[tuple[str, str, tuple[str, ...]]] = []
    lock = threading.Lock()
    meet = threading.Barrier(2, timeout=120)
    met: list[str] = []
    real = postgres_schema.restore_entries

    def recording(target: Any, dump: Path, workdir: Path, name: str, entries: list[str], **kw: Any) -> None:
        big_index = all(" INDEX ledger entries_" in e for e in entries)
        with lock:
            log.append(("start", name, tuple(entries)))
            first_two = big_index and len(met) < 2
            if first_two:
                met.append(name)
        if first_two:
            meet.wait()  # the other index build of the big table must be running now
        real(target, dump, workdir, name, entries, **kw)
        with lock:
            log.append(("end", name, tuple(entries)))

    monkeypatch.setattr(postgres_schema, "restore_entries", recording)
    result = _migrate(dominant_source, empty_target, tmp_path, "full")

    assert result.verification is not None and result.verification.ok
    key_built = [i for i, (kind, _, entries) in enumerate(log)
                 if kind == "end" and any(" CONSTRAINT ledger entries entries_pkey " in e for e in entries)]
    index_starts = [(i, entries) for i, (kind, _, entries) in enumerate(log)
                    if kind == "start" and any(" INDEX ledger entries_" in e for e in entries)]
    assert len(key_built) == 1 and len(index_starts) == 3
    assert all(len(entries) == 1 for _, entries in index_starts)  # one CREATE INDEX per session
    assert key_built[0] < min(i for i, _ in index_starts)  # the primary key (ALTER TABLE) went first
    assert " entries_memo_idx " in index_starts[0][1][0]  # the biggest index (64-char text) started first
    assert len(met) == 2 and not meet.broken  # two index builds of the big table ran at the same time
    with psycopg.connect(empty_target) as conn:
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'ledger' AND tablename = 'entries'").fetchall()}
        keys = conn.execute(
            "SELECT count(*) FILTER (WHERE convalidated) FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = 'ledger'::regnamespace").fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM ledger.entries").fetchone()[0]
    assert indexes == {"entries_pkey", "entries_account_idx", "entries_amount_idx", "entries_memo_idx"}
    assert keys == 2 and rows == BIG_ROWS


def test_split_constraints_puts_keys_apart_and_the_biggest_index_first():
    entries = [
        "3; 1259 3 INDEX ledger entries_small_idx -",
        "1; 2606 1 CONSTRAINT ledger entries entries_pkey -",
        "2; 1259 2 INDEX ledger entries_big_idx -",
    ]
    sizes = {entries[0]: 10, entries[2]: 1000}
    keys, indexes = postgres_schema.split_constraints(entries, sizes)
    assert keys == [entries[1]]
    assert indexes == [entries[2], entries[0]]


def test_ready_keys_are_shared_between_free_workers_in_groups_that_touch_no_common_table():
    from billingops.transfer.postgres.data_phase import first_share

    # three groups: each head is referenced by its children (one session must add those one after the other)
    keys = [postgres_schema.ForeignKey(f"{g}{c}", f"s.c{g}{c}", f"s.head{g}") for g in range(3) for c in range(4)]
    share = first_share(keys, 2)
    rest = [fk for fk in keys if fk not in share]
    assert share and rest  # both workers get keys
    assert not {t for fk in share for t in fk.tables} & {t for fk in rest for t in fk.tables}
    assert {fk.referenced for fk in share} == {"s.head0"} and len(share) == 4  # whole groups, about half
    assert first_share(keys, 1) == keys


def test_the_post_data_plan_is_read_while_the_target_creates_the_schema(tmp_path: Path, dominant_source,
                                                                        empty_target, monkeypatch):
    # Each waits for the other at a barrier: it only opens when both run at the same time.
    meet = threading.Barrier(2, timeout=60)
    real_restore, real_plan = postgres_schema.restore_pre_data, postgres_schema.plan_post_data

    def restore_pre_data(*args: Any, **kw: Any) -> Any:
        meet.wait()
        return real_restore(*args, **kw)

    def plan_post_data(*args: Any, **kw: Any) -> Any:
        meet.wait()
        return real_plan(*args, **kw)

    monkeypatch.setattr(postgres_schema, "restore_pre_data", restore_pre_data)
    monkeypatch.setattr(postgres_schema, "plan_post_data", plan_post_data)
    result = _migrate(dominant_source, empty_target, tmp_path, "counts")
    assert not meet.broken
    assert result.verification is not None and result.verification.ok


def _migrate(source_url: str, target_url: str, tmp_path: Path, verify: str) -> Any:
    """One in-process PostgreSQL migration with two jobs, as migrate-cloud runs it."""
    source = PgEndpoint.parse(source_url, "source", "--source")
    target = PgEndpoint.parse(target_url, "target", "--target")
    checked = postgres_preflight.preflight(source, target)
    with Reporter(QuietUi()) as reporter:
        return postgres_migrate.PgMigration(
            source, target, checked, postgres_migrate.PgOptions(jobs=2, verify=verify), {}, lambda: None,
            reporter, tmp_path / "work",
        ).run()
