"""Fixed costs of a small migration that no longer add up one after the other: the preflight reads the target
while it inspects the source, and materialized views are refreshed while pg_restore adds the final post-data.

Each pair meets at a barrier that only opens when both run at the same time (serial steps would wait for each
other until the barrier breaks); the migration's result stays exact."""

from __future__ import annotations

import re
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


def _meeting(monkeypatch, module: Any, names: list[str]) -> threading.Barrier:
    meet = threading.Barrier(len(names), timeout=30)
    for name in names:
        real = getattr(module, name)

        def wrapped(*args: Any, _real: Any = real, **kw: Any) -> Any:
            meet.wait()
            return _real(*args, **kw)

        monkeypatch.setattr(module, name, wrapped)
    return meet


def _meet_at_the_final_restore(monkeypatch, meet: threading.Barrier) -> None:
    """The final post-data pg_restore waits at `meet` before it starts."""
    real_restore = postgres_schema.restore_entries

    def restore_entries(target: Any, dump: Any, workdir: Any, name: str, *args: Any, **kw: Any) -> None:
        if name == "final":
            meet.wait()
        real_restore(target, dump, workdir, name, *args, **kw)

    monkeypatch.setattr(postgres_schema, "restore_entries", restore_entries)


def _endpoints(source_url: str, target_url: str) -> tuple[PgEndpoint, PgEndpoint]:
    return PgEndpoint.parse(source_url, "source", "--source"), PgEndpoint.parse(target_url, "target", "--target")


def test_the_preflight_reads_both_sides_at_once(billing_source, empty_target, monkeypatch):
    meet = _meeting(monkeypatch, postgres_preflight, ["inspect", "user_objects"])
    checked = postgres_preflight.preflight(*_endpoints(billing_source, empty_target))
    assert not meet.broken
    assert checked.target_objects == [] and checked.missing_extensions == []
    assert "billing.invoices_2025" in {t.key for t in checked.source.tables}


def test_the_preflight_reports_the_source_first(billing_source, empty_target, source_pg):
    """Both sides unreachable: the source's error, as when the sides were read one after the other."""
    from billingops.errors import ExternalError

    source = billing_source.replace(source_pg.password, "wrong-password")
    target = re.sub(r":\d+/", ":1/", empty_target)  # a port nobody listens on
    with pytest.raises(ExternalError) as err:
        postgres_preflight.preflight(*_endpoints(source, target))
    assert "source PostgreSQL" in err.value.message and "wrong-password" not in err.value.message


def test_materialized_views_refresh_while_pg_restore_runs(billing_source, empty_target, tmp_path: Path,
                                                          monkeypatch):
    meet = threading.Barrier(2, timeout=30)
    real_refresh = postgres_migrate._refresh

    def refresh(*args: Any) -> None:
        meet.wait()
        real_refresh(*args)

    monkeypatch.setattr(postgres_migrate, "_refresh", refresh)
    _meet_at_the_final_restore(monkeypatch, meet)
    source, target = _endpoints(billing_source, empty_target)
    checked = postgres_preflight.preflight(source, target)
    with Reporter(QuietUi()) as reporter:
        result = postgres_migrate.PgMigration(
            source, target, checked, postgres_migrate.PgOptions(jobs=2, verify="full"), {}, lambda: None,
            reporter, tmp_path / "work",
        ).run()
    assert not meet.broken
    assert result.verification is not None and result.verification.ok
    with psycopg.connect(billing_source) as src, psycopg.connect(empty_target) as dst:
        query = "SELECT customer_id, total, n FROM billing.revenue_by_customer ORDER BY 1"
        assert dst.execute(query).fetchall() == src.execute(query).fetchall()
        assert dst.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'revenue_by_customer_pk'"
                           ).fetchone()[0] == 1


def test_the_inventory_takes_a_few_round_trips(billing_source):
    """One query per object kind was ~40 round trips in a row (1.2 s at 30 ms away): now a summary query, the
    tables and their text-COPY check; what the inventory holds is unchanged."""
    from billingops.transfer.postgres import inspect as postgres_inspect
    from billingops.transfer.postgres import kinds
    from billingops.transfer.postgres.inspect import inspect

    class Counting:
        def __init__(self, conn: Any) -> None:
            self.conn, self.statements = conn, 0

        def transaction(self) -> Any:
            self.statements += 2  # BEGIN, COMMIT
            return self.conn.transaction()

        def execute(self, query: Any, params: Any = None) -> Any:
            self.statements += 1
            return self.conn.execute(query, params)

    with psycopg.connect(billing_source, autocommit=True) as conn:
        counting = Counting(conn)
        inv = inspect(counting)
        assert counting.statements <= 6
        assert inv.database == "billing" and inv.server_version.split(".")[0].isdigit()
        assert inv.event_triggers == ["billing_ddl_watch"] and inv.publications == ["billing_pub"]
        assert inv.materialized_views == ["billing.revenue_by_customer"] and inv.large_objects == 2
        assert all(isinstance(name, str) for name in inv.sequences + inv.roles + inv.extensions)
        assert inv.sequences == sorted(inv.sequences) and len(inv.sequences) >= 4
        assert set(inv.object_counts) == {k.name for k in kinds.KINDS}
        for kind in kinds.KINDS:  # each count as its own query gives
            assert inv.object_counts[kind.name] == conn.execute(kind.count_sql).fetchone()[0], kind.name
        assert inv.default_privileges == [r[0] for r in conn.execute(kinds.DEFAULT_PRIVILEGES).fetchall()]
        assert inv.roles == [r[0] for r in conn.execute(postgres_inspect._ROLES).fetchall()]


def test_large_objects_are_copied_while_post_data_is_built(billing_source, empty_target, tmp_path: Path,
                                                           monkeypatch):
    from billingops.transfer.postgres import objects as postgres_objects

    meet = threading.Barrier(2, timeout=30)
    real_copy = postgres_objects.copy_large_objects

    def copy_large_objects(*args: Any) -> int:
        meet.wait()
        return real_copy(*args)

    monkeypatch.setattr(postgres_objects, "copy_large_objects", copy_large_objects)
    _meet_at_the_final_restore(monkeypatch, meet)
    source, target = _endpoints(billing_source, empty_target)
    checked = postgres_preflight.preflight(source, target)
    state: dict[str, Any] = {}
    with Reporter(QuietUi()) as reporter:
        result = postgres_migrate.PgMigration(
            source, target, checked, postgres_migrate.PgOptions(jobs=2, verify="full"), state, lambda: None,
            reporter, tmp_path / "work",
        ).run()
    assert not meet.broken
    assert result.large_objects == 2 and state["large_objects"] and state["post_data"]
    assert result.verification is not None and result.verification.ok and result.verification.large_objects == 2
