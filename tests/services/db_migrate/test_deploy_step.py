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
from tests.services.db_migrate.conftest import REPO


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
    sandbox = SimpleNamespace(connect_url=lambda: db_url)
    dry = migrate_db.run(make_ctx(tmp_path, {}, sandbox=sandbox, dry_run=True))
    assert dry.startswith("dry run: would apply 5")
    ctx = make_ctx(tmp_path, {}, sandbox=sandbox)
    assert migrate_db.run(ctx).startswith("applied 5 to 127.0.0.1:")
    assert ctx.data["migrations_applied"][0] == "0001_core_customers_plans.sql"
    assert migrate_db.run(make_ctx(tmp_path, {}, sandbox=sandbox)).endswith("is up to date")


def test_sandbox_without_postgres_skips_visibly(tmp_path):
    with pytest.raises(Skip, match="skipped in sandbox: the sandbox has no local PostgreSQL"):
        migrate_db.run(make_ctx(tmp_path, {}, sandbox=SimpleNamespace(connect_url=lambda: None)))


def test_real_mode_reads_the_database_url_secret(tmp_path, db_url, moto):
    arn = aws_client("secretsmanager", "us-east-1").create_secret(
        Name="billing-dev/DATABASE_URL", SecretString=db_url
    )["ARN"]
    ctx = make_ctx(tmp_path, {"secret_ids": {"DATABASE_URL": arn}})
    assert migrate_db.run(ctx).startswith("applied 5")
    journals = "".join(p.read_text() for p in (tmp_path / ".billingops" / "runs").glob("*.json"))
    assert "pg-test-pw" not in journals


def test_migrations_run_as_the_master_and_create_the_app_role_with_its_secret_password(tmp_path, pg, db_url, moto):
    """Issue 15: DATABASE_URL is the app role's URL; the step connects with the master secret (JSON), and the
    shipped migration creates billing_app with the app secret's password and only the rights the app needs."""
    import json
    import secrets

    import psycopg
    from psycopg import conninfo

    params = conninfo.conninfo_to_dict(db_url)
    sm = aws_client("secretsmanager", "us-east-1")
    rds_secret = {"engine": "postgres", "host": "127.0.0.1", "port": int(params["port"]), "dbname": params["dbname"]}
    master = sm.create_secret(Name="billing-dev/rds/master", SecretString=json.dumps(
        {**rds_secret, "username": params["user"], "password": params["password"]}))["ARN"]
    app_password = secrets.token_urlsafe(24)
    app = sm.create_secret(Name="billing-dev/rds/app", SecretString=json.dumps(
        {**rds_secret, "username": "billing_app", "password": app_password}))["ARN"]
    app_url = pg.url(params["dbname"], user="billing_app", password=app_password)
    # DATABASE_URL is the app role's URL: migrating with it would fail (the role does not exist yet).
    database_url = sm.create_secret(Name="billing-dev/DATABASE_URL", SecretString=app_url)["ARN"]
    outputs = {"secret_ids": {"DATABASE_URL": database_url}, "database_master_secret_id": master,
               "database_app_secret_id": app}

    ctx = make_ctx(tmp_path, outputs)
    assert migrate_db.run(ctx).startswith("applied 5")
    with psycopg.connect(app_url, autocommit=True) as as_app:
        assert as_app.execute("SELECT current_user").fetchone()[0] == "billing_app"
        as_app.execute("INSERT INTO customers (external_ref, email, name) VALUES ('cus_1', 'a@example.com', 'A')")
        assert as_app.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
        for forbidden in ("CREATE TABLE app_made (id int)", "DROP TABLE customers",
                          "SELECT * FROM billingops_schema_migrations", "CREATE ROLE intruder"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_app.execute(forbidden)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg.url(params["dbname"], user="billing_app", password="wrong-password")).close()
    journals = "".join(p.read_text() for p in (tmp_path / ".billingops" / "runs").glob("*.json"))
    assert app_password not in journals and params["password"] not in journals
