"""The dry run says per object kind what a cloud move carries and what it skips (and why), lists the skipped
objects in the JSON, and estimates a time that counts the per-object work, not only the bytes."""

from __future__ import annotations

import io
import json
import uuid

import psycopg
import pytest
from rich.console import Console

from billingops.commands.migrate_cloud import render_dry_run
from billingops.console import Output
from tests.support import migrate_cli

pytestmark = pytest.mark.slow

MANY_SMALL = """
CREATE ROLE bo_plan_reader;
CREATE PUBLICATION everything FOR ALL TABLES;
CREATE TABLE acl (a aclitem);
DO $$ BEGIN
  FOR i IN 1..60 LOOP
    EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text)', i);
  END LOOP;
END $$;
GRANT SELECT ON t1 TO bo_plan_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO bo_plan_reader;
"""


@pytest.fixture
def small_source(source_pg, target_pg):
    with psycopg.connect(source_pg.url(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'bo_plan_reader'").fetchone():
            conn.execute("CREATE ROLE bo_plan_reader")
    url = source_pg.createdb(f"plan_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MANY_SMALL.replace("CREATE ROLE bo_plan_reader;", ""))
    return url


def test_dry_run_plan_lists_kinds_skips_and_a_real_estimate(run_cli, small_source, empty_target):
    result = run_cli(*migrate_cli.args(*migrate_cli.postgres(small_source, empty_target), "--dry-run"))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    inv = doc["postgres"]["preflight"]["source"]
    kinds = {k["kind"]: k for k in inv["object_kinds"]}
    assert kinds["tables"]["count"] == 61 and kinds["tables"]["carried"]
    assert kinds["indexes"]["count"] == 60
    assert kinds["publications"] == {"kind": "publications", "count": 1, "carried": False,
                                     "why": kinds["publications"]["why"]}
    assert kinds["default privileges"]["count"] == 1 and not kinds["default privileges"]["carried"]
    assert kinds["owners and grants"]["count"] == 1 and not kinds["owners and grants"]["carried"]
    assert inv["skipped"]["publications"] == ["everything"]
    assert inv["skipped"]["default_privileges"] == ["for role postgres in schema public on tables"]
    assert set(inv["skip_reasons"]) >= {"publications", "default_privileges", "event_triggers", "subscriptions"}
    assert inv["text_copy_tables"] == {"public.acl": "column a: type aclitem has no binary send/receive"}
    steps = "\n".join(doc["would_do"])
    assert "copy public.acl with text COPY (column a: type aclitem" in steps
    assert "skip and report publications (replication from the old server" in steps
    assert "skip and report default privileges (" in steps and "skip 1 owners and grants (" in steps
    # 61 empty tables: no bytes to move, but a real run costs seconds per table, not "~0 s".
    est = doc["postgres"]["estimate"]
    assert est["seconds"] >= 61 * 0.25 / 2 and est["overhead_seconds"] > 0

    output = Output(json_mode=False, color=False)
    output.out = Console(file=io.StringIO(), width=220, no_color=True)
    render_dry_run(output, doc)
    text = output.out.file.getvalue()
    assert "SKIPPED" in text and "default privileges" in text
    assert f"estimated duration: ~{est['seconds']:.0f} s" in text and "~0 s" not in text
