"""The deploy step `secrets` on a real StepContext, against moto; terraform outputs injected."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from billingops.clouds.base import aws_client
from billingops.commands.common import Session
from billingops.config import load_settings
from billingops.console import Output
from billingops.errors import StepFailed, UsageError
from billingops.runs.checklist import Skip, StepContext
from billingops.runs.journal import Journal
from billingops.services.deploy import seed_secrets
from billingops.services.secrets.inventory import preflight_problems


def make_ctx(project, outputs, *, sandbox=None, dry_run=False) -> StepContext:
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


def test_step_seeds_from_the_environment_and_is_idempotent(project, aws_ids, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_SECRET_STRIPE_API_KEY", "sk_step_canary_1")
    monkeypatch.setenv("BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET", "whsec_step_canary_1")
    ctx = make_ctx(project, {"secret_ids": aws_ids})
    detail = seed_secrets.run(ctx)
    assert detail.startswith(
        "wrote 3: SECRET_KEY (generated), STRIPE_API_KEY (env BILLINGOPS_SECRET_STRIPE_API_KEY)"
    )
    assert ctx.data["secrets"]["DATABASE_URL"] == "terraform"
    assert seed_secrets.run(make_ctx(project, {"secret_ids": aws_ids})).startswith(
        "no change; 5 already current"
    )
    journals = "".join(p.read_text() for p in (project / ".billingops" / "runs").glob("*.json"))
    assert "canary" not in journals


def test_step_dry_run_writes_nothing(project, aws_ids, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_SECRET_STRIPE_API_KEY", "sk_step_dry")
    monkeypatch.setenv("BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET", "whsec_step_dry")
    detail = seed_secrets.run(make_ctx(project, {"secret_ids": aws_ids}, dry_run=True))
    assert detail.startswith("would write 3")
    client = aws_client("secretsmanager", "us-east-1")
    assert client.list_secret_version_ids(SecretId=aws_ids["SECRET_KEY"])["Versions"] == []


def test_step_fails_without_inputs_outside_the_sandbox(project, aws_ids):
    with pytest.raises(UsageError, match="STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET"):
        seed_secrets.run(make_ctx(project, {"secret_ids": aws_ids}))


def test_step_fails_when_terraform_secret_has_no_version(project, aws_ids, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_SECRET_STRIPE_API_KEY", "sk_x_value")
    monkeypatch.setenv("BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET", "whsec_x_value")
    empty = aws_client("secretsmanager", "us-east-1").create_secret(
        Name=f"empty-redis-{uuid.uuid4().hex[:8]}"
    )["ARN"]
    with pytest.raises(StepFailed, match="REDIS_URL have no version after apply"):
        seed_secrets.run(make_ctx(project, {"secret_ids": {**aws_ids, "REDIS_URL": empty}}))


def test_step_in_the_sandbox_uses_placeholders_and_creates_secrets(project, moto):
    ctx = make_ctx(project, {}, sandbox=SimpleNamespace(database_url=None))
    detail = seed_secrets.run(ctx)
    assert "STRIPE_API_KEY (sandbox placeholder)" in detail and "SECRET_KEY (generated)" in detail
    client = aws_client("secretsmanager", "us-east-1")
    assert (
        client.describe_secret(SecretId="billing-dev/STRIPE_API_KEY")["Name"] == "billing-dev/STRIPE_API_KEY"
    )


def test_preflight_problems(project, aws_ids, monkeypatch):
    env = load_settings(cwd=project).env("dev")
    assert preflight_problems(env, {}) == []  # first deploy: nothing to check yet
    assert preflight_problems(env, {"secret_ids": aws_ids}) == [
        "STRIPE_API_KEY (missing)",
        "STRIPE_WEBHOOK_SECRET (missing)",
    ]
    monkeypatch.setenv("BILLINGOPS_SECRET_STRIPE_API_KEY", "sk_waiting")
    assert preflight_problems(env, {"secret_ids": aws_ids}) == ["STRIPE_WEBHOOK_SECRET (missing)"]


def test_skip_is_visible():
    assert issubclass(Skip, Exception)


def test_step_reads_the_secrets_file_named_in_the_environment(project, aws_ids, monkeypatch):
    (project / "deploy.env").write_text("STRIPE_API_KEY=sk_file_canary\nSTRIPE_WEBHOOK_SECRET=whsec_file_canary\n")
    monkeypatch.setenv("BILLINGOPS_SECRETS_FILE", str(project / "deploy.env"))
    detail = seed_secrets.run(make_ctx(project, {"secret_ids": aws_ids}))
    assert f"STRIPE_API_KEY (file {project / 'deploy.env'})" in detail
