"""The deploy step `migrate` on a real StepContext: the sandbox's database, and the DATABASE_URL secret."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from billingops.clouds.base import aws_client
from billingops.commands.common import Session
from billingops.config import load_settings
from billingops.console import Output
from billingops.runs.checklist import Skip, StepContext
from billingops.runs.journal import Journal
from billingops.services.deploy import migrate_db
from tests.dbmigrate.conftest import REPO


def make_ctx(project, outputs, *, sandbox=None, dry_run=False) -> StepContext:
    (project / "billingops.toml").write_text(
        f'[environments.dev]\ncloud = "aws"\nmigrations_dir = "{REPO / "migrations"}"\n'
    )
    settings = load_settings(cwd=project)
    session = Session(settings=settings, output=Output(), env_name="dev", cloud=None, yes=True)
    journal = Journal.create(settings.runs_dir, command="deploy", env="dev", cloud="aws")
    ctx = StepContext(
        session=session,
        env=session.env(),
        journal=journal,
        output=session.output,
        dry_run=dry_run,
        sandbox=sandbox,
    )
    ctx.services["outputs"] = outputs
    return ctx


def test_sandbox_runs_the_shipped_migrations_for_real(tmp_path, db_url):
    sandbox = SimpleNamespace(database_url=db_url)
    dry = migrate_db.run(make_ctx(tmp_path, {}, sandbox=sandbox, dry_run=True))
    assert dry.startswith("dry run: would apply 4")
    ctx = make_ctx(tmp_path, {}, sandbox=sandbox)
    assert migrate_db.run(ctx).startswith("applied 4 to 127.0.0.1:")
    assert ctx.data["migrations_applied"][0] == "0001_core_customers_plans.sql"
    assert migrate_db.run(make_ctx(tmp_path, {}, sandbox=sandbox)).endswith("is up to date")


def test_sandbox_without_postgres_skips_visibly(tmp_path):
    with pytest.raises(Skip, match="skipped in sandbox: the sandbox has no local PostgreSQL"):
        migrate_db.run(make_ctx(tmp_path, {}, sandbox=SimpleNamespace(database_url=None)))


def test_real_mode_reads_the_database_url_secret(tmp_path, db_url, moto):
    arn = aws_client("secretsmanager", "us-east-1").create_secret(
        Name="billing-dev/DATABASE_URL", SecretString=db_url
    )["ARN"]
    ctx = make_ctx(tmp_path, {"secret_ids": {"DATABASE_URL": arn}})
    assert migrate_db.run(ctx).startswith("applied 4")
    journals = "".join(p.read_text() for p in (tmp_path / ".billingops" / "runs").glob("*.json"))
    assert "pg-test-pw" not in journals
