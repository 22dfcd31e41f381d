"""Foreign keys added during the data phase: the copy order that makes them early, and a run interrupted after
the first one was added, which --resume must finish with every key present and validated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psycopg
import pytest

from billingops.transfer.postgres import units as postgres_units
from billingops.transfer.postgres.inspect import TableInfo
from tests.support import migrate_cli

LINES_ROWS = 300_000


def table(key: str, size: int) -> TableInfo:
    schema, name = key.split(".")
    return TableInfo(schema, name, 0, size, max(1, size // 8192), 0, ["id"], True)


def test_the_biggest_table_starts_first_even_when_it_references_the_others():
    # Its copy, indexes and keys are the critical path; the tables it references copy alongside it.
    tables = [table("b.customers", 10), table("b.lines", 1000), table("b.invoices", 100), table("b.notes", 50)]
    units = postgres_units.plan_units(tables, split_bytes=10_000)
    assert [u.table.key for u in units] == ["b.lines", "b.invoices", "b.notes", "b.customers"]


def test_split_ranges_of_the_biggest_table_are_scheduled_before_smaller_tables():
    tables = [table("b.small", 8192 * 10), table("b.big", 8192 * 400)]
    units = postgres_units.plan_units(tables, split_bytes=8192 * 200)
    assert [(u.table.key, u.index, u.count) for u in units] == [("b.big", 0, 2), ("b.big", 1, 2), ("b.small", 0, 1)]


# -- a real run, interrupted after the first foreign key --------------------------------------------------------
FK_SCHEMA = f"""
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE shop.invoices (id int PRIMARY KEY,
    customer_id int NOT NULL CONSTRAINT invoices_customer_fk REFERENCES shop.customers (id));
CREATE TABLE shop.lines (id bigint PRIMARY KEY,
    invoice_id int NOT NULL CONSTRAINT lines_invoice_fk REFERENCES shop.invoices (id), memo text);
CREATE INDEX lines_invoice_idx ON shop.lines (invoice_id);
-- A cycle: each account names its main contact, each contact its account.
CREATE TABLE shop.accounts (id int PRIMARY KEY, main_contact int);
CREATE TABLE shop.contacts (id int PRIMARY KEY,
    account_id int NOT NULL CONSTRAINT contacts_account_fk REFERENCES shop.accounts (id));
ALTER TABLE shop.accounts ADD CONSTRAINT accounts_contact_fk FOREIGN KEY (main_contact)
    REFERENCES shop.contacts (id) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO shop.customers SELECT g, 'customer ' || g FROM generate_series(1, 2000) g;
INSERT INTO shop.invoices SELECT g, 1 + g % 2000 FROM generate_series(1, 20000) g;
INSERT INTO shop.lines SELECT g, 1 + g % 20000, repeat(md5(g::text), 3) FROM generate_series(1, {LINES_ROWS}) g;
BEGIN;
INSERT INTO shop.accounts SELECT g, g FROM generate_series(1, 500) g;
INSERT INTO shop.contacts SELECT g, g FROM generate_series(1, 500) g;
COMMIT;
ANALYZE;
"""
FOREIGN_KEYS = {"invoices_customer_fk", "lines_invoice_fk", "contacts_account_fk", "accounts_contact_fk"}


@pytest.fixture(scope="module")
def fk_source(source_pg) -> str:
    url = source_pg.createdb("billing_fk")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FK_SCHEMA)
    return url


def foreign_keys(url: str) -> dict[str, bool]:
    """Foreign key name -> convalidated, in schema shop."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT conname, convalidated FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = 'shop'::regnamespace"
        ).fetchall()
    return {name: valid for name, valid in rows}


def migrate(tmp_path: Path, source: str, target: str, *extra: str) -> list[str]:
    # Two workers: the biggest table (shop.lines) starts first on one, the small tables and their keys go
    # through the other while it copies.
    return migrate_cli.argv(*migrate_cli.postgres(source, target), "--jobs", "2", *extra)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_resume_after_the_first_foreign_key_was_added(tmp_path, fk_source, empty_target, stop):
    assert set(foreign_keys(fk_source)) == FOREIGN_KEYS
    proc = subprocess.Popen(
        migrate(tmp_path, fk_source, empty_target),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    added = None
    for line in proc.stderr:
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "foreign_key_added":
            added = event
            break
    assert added, f"the run ended before adding a foreign key: {proc.wait()}"
    os.killpg(proc.pid, stop)  # billingops and its psql/pg_restore children
    proc.communicate(timeout=120)
    assert proc.returncode == (-signal.SIGKILL if stop == signal.SIGKILL else 130)

    journal = json.loads(next((tmp_path / ".billingops" / "runs").glob("*.json")).read_text())
    state = journal["migrate"]["postgres"]
    assert state.get("foreign_keys_done"), "the added key was not journaled"
    assert "data" not in state, "the run was stopped too late: the data phase had finished"
    assert "shop.lines" not in state.get("tables_done", [])  # the biggest table was still copying
    present = foreign_keys(empty_target)
    assert present and all(present.values())  # what was added early is already validated

    resumed = subprocess.run(
        migrate(tmp_path, fk_source, empty_target, "--resume"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    doc = json.loads(resumed.stdout)
    assert doc["ok"] and doc["resumed"]
    verification = doc["postgres"]["verification"]
    assert verification["mode"] == "full" and verification["ok"] and not verification["failed_tables"]
    assert foreign_keys(empty_target) == {name: True for name in FOREIGN_KEYS}
    with psycopg.connect(empty_target) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM shop.lines").fetchone() == (
            LINES_ROWS,
            LINES_ROWS,
        )
