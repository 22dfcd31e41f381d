"""migrate-cloud --only postgres end to end, run as a user runs it, against two real PostgreSQL clusters."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.support import migrate_cli

pytestmark = pytest.mark.slow


def migrate(run_cli, source: str, target: str, *extra: str):
    return run_cli(*migrate_cli.args(*migrate_cli.postgres(source, target), *extra))


def rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params or None).fetchall()


def snapshot_of(url: str) -> dict[str, list]:
    """Every user table's rows as text, sorted, so two databases can be compared exactly."""
    tables = [
        r[0]
        for r in rows(
            url,
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        )
    ]
    return {t: sorted(r[0] for r in rows(url, f"SELECT x::text FROM {t} x")) for t in tables}


def test_round_trip_carries_every_object_kind_and_verifies(run_cli, billing_source, empty_target, tmp_path):
    before = snapshot_of(billing_source)
    result = migrate(run_cli, billing_source, empty_target, "--split-larger-than", "1")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    ver = doc["postgres"]["verification"]
    assert ver["mode"] == "full" and not ver["failed_tables"]
    assert {t["table"] for t in ver["tables"]} >= {
        "billing.invoices_2025",
        "billing.invoices_2026",
        "billing.customers",
        "audit.events",
        "public.counters",
    }
    assert all(t["source_rows"] == t["target_rows"] and t["checksum"] == "match" for t in ver["tables"])
    assert ver["large_objects"] == 2 and ver["sequences"] >= 4
    assert "pg-test-pw" not in result.stdout + result.stderr
    assert "event trigger billing_ddl_watch" in doc["postgres"]["skipped"]
    assert "publication billing_pub" in doc["postgres"]["skipped"]
    assert doc["cutover"] and any("DNS" in step for step in doc["cutover"])
    runs = tmp_path / ".billingops" / "runs"
    assert json.loads(next(runs.glob("*.json")).read_text())["status"] == "ok"
    assert not list(runs.glob("*.postgres"))  # the schema dump is not left behind after success

    # Every row identical (the source is unchanged: it was only read).
    assert snapshot_of(empty_target) == before == snapshot_of(billing_source)
    t = empty_target
    assert rows(t, "SELECT name_lower FROM billing.customers WHERE id = 7") == [("zoë ünlü 7",)]
    assert rows(t, "SELECT count(*) FROM billing.revenue_by_customer") == [(3000,)]  # mat. view refreshed
    assert rows(t, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal") == [("payments_audit",)]
    assert rows(t, "SELECT count(*) FROM pg_event_trigger") == [(0,)]
    assert rows(t, "SELECT count(*) FROM pg_publication") == [(0,)]
    fks = {r[0] for r in rows(t, "SELECT conname FROM pg_constraint WHERE contype = 'f'")}
    assert {"payments_customer_fk", "customers_default_payment_fk"} <= fks  # the cycle
    assert rows(t, "SELECT obj_description('billing.customers'::regclass)") == [("Kunden / 顧客",)]
    assert rows(t, "SELECT enum_range(NULL::billing.invoice_status)::text") == [("{draft,open,paid,void}",)]
    assert rows(t, "SELECT count(*) FROM pg_indexes WHERE indexname = 'revenue_by_customer_pk'") == [(1,)]
    # Partition indexes built per table during the copy, then attached to the parent's index at the end.
    for parent in ("billing.invoices_pkey", "billing.invoices_customer_idx"):
        assert rows(t, f"SELECT count(*) FROM pg_inherits WHERE inhparent = '{parent}'::regclass") == [(2,)]
    assert rows(t, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'billing'") == rows(
        billing_source, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'billing'"
    )
    # Sequences and identity columns continue where the source stopped.
    assert rows(t, "SELECT nextval('billing.invoice_number_seq')") == [(4243,)]
    src_next = rows(billing_source, "SELECT last_value FROM billing.payments_id_seq")[0][0]
    assert rows(t, "INSERT INTO billing.payments (customer_id) VALUES (1) RETURNING id") == [(src_next + 1,)]
    assert rows(t, "SELECT md5(lo_get(424242))") == rows(billing_source, "SELECT md5(lo_get(424242))")
    # Objects belong to the target user, not to roles copied from the source.
    assert rows(
        t,
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = 'billing'",
    ) == [("postgres",)]


def test_counts_mode(run_cli, billing_source, empty_target):
    result = migrate(run_cli, billing_source, empty_target, "--verify", "counts", "--jobs", "3")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["postgres"]["verification"]["mode"] == "counts"
    assert all(t["checksum"] is None and t["ok"] for t in doc["postgres"]["verification"]["tables"])


def test_progress_is_json_lines_on_stderr(run_cli, billing_source, empty_target):
    result = migrate(run_cli, billing_source, empty_target)
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    kinds = {e["event"] for e in events}
    assert {"phase", "table_done"} <= kinds
    done = {e["table"]: e["rows"] for e in events if e["event"] == "table_done"}
    assert done["billing.invoices_2025"] == 33839


def test_refuses_a_non_empty_target(run_cli, billing_source, empty_target):
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("CREATE TABLE precious (id int)")
        conn.execute("INSERT INTO precious VALUES (1)")
    result = migrate(run_cli, billing_source, empty_target)
    assert result.returncode == 4, result.stderr
    assert "public.precious" in result.stderr and "--replace-target" in result.stderr
    assert rows(empty_target, "SELECT count(*) FROM precious") == [(1,)]
    # Without a terminal and without --yes, --replace-target still needs consent.
    result = migrate(run_cli, billing_source, empty_target, "--replace-target")
    assert result.returncode == 4, result.stderr
    assert rows(empty_target, "SELECT count(*) FROM precious") == [(1,)]
    result = migrate(run_cli, billing_source, empty_target, "--replace-target", "--yes")
    assert result.returncode == 0, result.stderr
    assert rows(empty_target, "SELECT to_regclass('public.precious')") == [(None,)]


def test_dry_run_changes_nothing(run_cli, billing_source, empty_target, tmp_path):
    result = migrate(run_cli, billing_source, empty_target, "--dry-run")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    pg = doc["postgres"]
    tables = {t["table"]: t for t in pg["preflight"]["source"]["tables"]}
    assert tables["billing.invoices_2025"]["bytes"] > 0
    assert pg["preflight"]["source"]["extensions"] == ["pgcrypto"]
    assert pg["preflight"]["missing_extensions"] == []
    assert pg["preflight"]["source"]["large_objects"] == 2
    assert pg["estimate"]["seconds"] > 0
    assert any("copy 7 tables" in step for step in doc["would_do"])
    assert rows(
        empty_target,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
    ) == [(0,)]
    assert not list((tmp_path / ".billingops" / "runs").glob("*.json"))


def test_wrong_password_is_a_clear_exit_3(run_cli, billing_source, empty_target, source_pg):
    bad = billing_source.replace(source_pg.password, "not-the-password")
    result = migrate(run_cli, bad, empty_target)
    assert result.returncode == 3, result.stderr
    assert "password authentication failed" in result.stderr and "source" in result.stderr
    assert "not-the-password" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_unreachable_host_is_a_clear_exit_3(run_cli, billing_source):
    from tests.support.ports import free_port

    result = migrate(run_cli, billing_source, f"postgresql://postgres:secretpw@127.0.0.1:{free_port()}/x")
    assert result.returncode == 3, result.stderr
    assert "target PostgreSQL" in result.stderr and "reachable" in result.stderr
    assert "secretpw" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "url,expected",
    [
        ("postgresql://u:pw@db.example:notaport/billing", "not a valid URL"),
        ("mysql://u:pw@db.example/billing", "not a PostgreSQL URL"),
        ("postgresql://u:pw@db.example:5432", "names no database"),
        ("postgresql:///billing", "has no host"),
    ],
)
def test_malformed_url_is_exit_2(run_cli, billing_source, url, expected):
    result = migrate(run_cli, billing_source, url)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "--target-postgres" in result.stderr
    assert "Traceback" not in result.stderr and ":pw@" not in result.stderr


@pytest.mark.parametrize(
    "args,expected",
    [
        (("aws", "aws"), "both aws"),
        (("aws", "azure"), "must be aws or gcp"),
    ],
)
def test_bad_clouds_are_exit_2(run_cli, args, expected):
    result = run_cli("migrate-cloud", *args, "--env", "prod", "--only", "postgres")
    assert result.returncode == 2 and expected in result.stderr


def test_resume_without_an_unfinished_run_is_exit_2(run_cli, billing_source, empty_target):
    result = migrate(run_cli, billing_source, empty_target, "--resume")
    assert result.returncode == 2 and "no unfinished migrate-cloud run" in result.stderr


def test_resume_never_skips_the_refusal(run_cli, billing_source, empty_target):
    with psycopg.connect(empty_target, autocommit=True) as conn:
        conn.execute("CREATE TABLE precious (id int)")
    assert migrate(run_cli, billing_source, empty_target).returncode == 4
    result = migrate(run_cli, billing_source, empty_target, "--resume")
    assert result.returncode == 2, result.stderr
    assert "stopped before copying anything" in result.stderr
    assert rows(empty_target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'billing'") == [(0,)]
