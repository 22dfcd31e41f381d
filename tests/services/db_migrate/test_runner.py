"""The migration runner against a real PostgreSQL: order, ledger, checksums, rollback of a failed file."""

from __future__ import annotations

import pytest

from billingops.errors import ConfigError, ExternalError, Refused, StepFailed, UsageError
from billingops.services.db_migrate.connect import connect
from billingops.services.db_migrate.files import discover
from billingops.services.db_migrate.runner import APPLIED, LEDGER, MISMATCH, MISSING_FILE, PENDING, Migrator
from tests.services.db_migrate.conftest import REPO, write


def _tables(conn) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def test_applies_in_version_order_and_records_the_ledger(tmp_path, conn):
    folder = tmp_path / "m"
    # written out of order on purpose: 0010 depends on 0002, 0002 on 0001
    write(folder, "0010_add_index.sql", "CREATE INDEX b_a_idx ON b (a_id);")
    write(folder, "0001_a.sql", "CREATE TABLE a (id int PRIMARY KEY);")
    write(
        folder,
        "0002_b.sql",
        "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));\nINSERT INTO a VALUES (1);",
    )
    migrator = Migrator(conn, discover(folder))
    assert [s.state for s in migrator.status()] == [PENDING] * 3
    assert [m.label for m in migrator.pending()] == ["0001_a.sql", "0002_b.sql", "0010_add_index.sql"]
    assert to_ledger(conn) == []  # dry-run reading creates nothing
    done = migrator.migrate()
    assert [s.version for s in done] == [1, 2, 10]
    rows = to_ledger(conn)
    assert [(r[0], r[1]) for r in rows] == [(1, "a"), (2, "b"), (10, "add_index")]
    assert all(len(r[2]) == 64 and r[3] is not None and r[4] >= 0 for r in rows)
    assert Migrator(conn, discover(folder)).migrate() == []
    assert [s.state for s in migrator.status()] == [APPLIED] * 3


def to_ledger(conn):
    if conn.execute("SELECT to_regclass(%s)", (LEDGER,)).fetchone()[0] is None:
        return []
    return conn.execute(
        f"SELECT version, name, checksum, applied_at, duration_ms FROM {LEDGER} ORDER BY version"
    ).fetchall()


def test_edited_applied_file_is_a_checksum_mismatch(tmp_path, conn):
    folder = tmp_path / "m"
    path = write(folder, "0001_a.sql", "CREATE TABLE a (id int);")
    Migrator(conn, discover(folder)).migrate()
    path.write_text("CREATE TABLE a (id bigint);")
    write(folder, "0002_b.sql", "CREATE TABLE b (id int);")
    migrator = Migrator(conn, discover(folder))
    assert [s.state for s in migrator.status()] == [MISMATCH, PENDING]
    with pytest.raises(Refused, match="0001_a.sql were edited") as info:
        migrator.migrate()
    assert "new NNNN_" in info.value.hint
    assert "b" not in _tables(conn)


def test_crlf_checkout_is_not_an_edit(tmp_path, conn):
    folder = tmp_path / "m"
    path = write(folder, "0001_a.sql", "CREATE TABLE a (id int);\nCREATE TABLE c (id int);\n")
    Migrator(conn, discover(folder)).migrate()
    path.write_bytes(b"CREATE TABLE a (id int);\r\nCREATE TABLE c (id int);\r\n")
    assert [s.state for s in Migrator(conn, discover(folder)).status()] == [APPLIED]


def test_failure_mid_file_rolls_back_that_file_only(tmp_path, conn):
    folder = tmp_path / "m"
    write(folder, "0001_ok.sql", "CREATE TABLE ok (id int);")
    write(
        folder,
        "0002_broken.sql",
        "CREATE TABLE half (id int);\nINSERT INTO ok VALUES (1);\nINSERT INTO nope VALUES (1);\n",
    )
    write(folder, "0003_after.sql", "CREATE TABLE after_broken (id int);")
    with pytest.raises(StepFailed) as info:
        Migrator(conn, discover(folder)).migrate()
    message = info.value.message
    assert "0002_broken.sql failed at line 3" in message and 'relation "nope" does not exist' in message
    assert "rolled back" in message
    assert _tables(conn) == {"ok", LEDGER}
    assert conn.execute("SELECT count(*) FROM ok").fetchone()[0] == 0
    assert [r[0] for r in to_ledger(conn)] == [1]
    # the lock was released: a fixed file resumes at 0002
    write(folder, "0002_broken.sql", "CREATE TABLE half (id int);")
    assert [s.version for s in Migrator(conn, discover(folder)).migrate()] == [2, 3]


def test_out_of_order_pending_file_is_refused(tmp_path, conn):
    folder = tmp_path / "m"
    write(folder, "0002_b.sql", "CREATE TABLE b (id int);")
    Migrator(conn, discover(folder)).migrate()
    write(folder, "0001_a.sql", "CREATE TABLE a (id int);")
    with pytest.raises(Refused, match="numbered below 0002"):
        Migrator(conn, discover(folder)).pending()


def test_missing_file_is_reported(tmp_path, conn):
    folder = tmp_path / "m"
    path = write(folder, "0001_a.sql", "CREATE TABLE a (id int);")
    Migrator(conn, discover(folder)).migrate()
    path.unlink()
    write(folder, "0002_b.sql", "CREATE TABLE b (id int);")
    states = Migrator(conn, discover(folder)).status()
    assert [(s.name, s.state) for s in states] == [("0001_a.sql", MISSING_FILE), ("0002_b.sql", PENDING)]


@pytest.mark.parametrize(
    ("name", "sql", "match"),
    [
        ("1_short.sql", "SELECT 1;", "not named NNNN_name.sql"),
        ("0001_empty.sql", "  \n", "is empty"),
        ("0001_tx.sql", "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n", "BEGIN/COMMIT"),
    ],
)
def test_bad_files_are_config_errors(tmp_path, name, sql, match):
    write(tmp_path, name, sql)
    with pytest.raises(ConfigError, match=match):
        discover(tmp_path)


def test_duplicate_versions_and_missing_folder(tmp_path):
    write(tmp_path, "0001_a.sql", "SELECT 1;")
    write(tmp_path, "0001_b.sql", "SELECT 1;")
    with pytest.raises(ConfigError, match="share version 1"):
        discover(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        discover(tmp_path / "nope")


def test_plpgsql_bodies_are_allowed(tmp_path, conn):
    write(
        tmp_path,
        "0001_fn.sql",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$;\n",
    )
    assert [s.version for s in Migrator(conn, discover(tmp_path)).migrate()] == [1]


def test_shipped_migrations_apply_cleanly(conn):
    migrations = discover(REPO / "migrations")
    assert [m.version for m in migrations] == [1, 2, 3, 4, 5]
    Migrator(conn, migrations).migrate()
    assert {"customers", "plans", "subscriptions", "invoices", "invoice_lines", "payments"} <= _tables(conn)
    conn.execute("INSERT INTO customers (external_ref, email, name) VALUES ('cus_1', 'a@example.com', 'A')")
    conn.execute(
        "INSERT INTO plans (code, name, currency, unit_amount, billing_interval) "
        "VALUES ('pro', 'Pro', 'EUR', 29.00, 'month')"
    )
    conn.execute(
        "INSERT INTO invoices (number, customer_id, currency, subtotal, tax) VALUES ('INV-1', 1, 'EUR', "
        "29.00, 5.51)"
    )
    assert str(conn.execute("SELECT total FROM invoices").fetchone()[0]) == "34.51"
    import psycopg

    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO plans (code, name, currency, unit_amount, billing_interval) "
            "VALUES ('bad', 'Bad', 'eur', 1, 'month')"
        )


def test_connect_errors_are_clear(pg):
    with pytest.raises(ExternalError, match="Cannot connect") as info:
        connect(pg.url(password="wrong-password-xyz"))
    assert "wrong-password-xyz" not in info.value.message
    assert "--via" in info.value.hint
    with pytest.raises(UsageError, match="not HOST:PORT"):
        connect(pg.url(), via="nohost")


def test_via_swaps_the_address(pg):
    url = pg.url().replace(f":{pg.port}", ":9")
    with connect(url, via=f"127.0.0.1:{pg.port}") as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
