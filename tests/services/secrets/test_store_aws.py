"""AWS Secrets Manager adapter and seeding plan against moto server (real boto3 over HTTP)."""

from __future__ import annotations

import uuid

import pytest

from billingops.clouds.aws.secrets import AwsSecretStore
from billingops.clouds.base import aws_client
from billingops.config import load_settings
from billingops.errors import CloudError, UsageError
from billingops.services.secrets import seed as seeding
from billingops.services.secrets.inventory import ABSENT, MISSING, OK, inventory, problems
from billingops.services.secrets.sources import Provided


@pytest.fixture
def store(aws) -> AwsSecretStore:
    return AwsSecretStore(aws_client("secretsmanager", "us-east-1"))


@pytest.fixture
def specs(project):
    return load_settings(cwd=project).env("dev").secrets


def _versions(store, arn) -> int:
    return len(store.client.list_secret_version_ids(SecretId=arn)["Versions"])


def _given(**values: str) -> dict[str, Provided]:
    return {k: Provided(v, "test") for k, v in values.items()}


def test_seed_writes_then_is_idempotent(store, specs, aws_ids):
    given = _given(STRIPE_API_KEY="sk_test_canary_1", STRIPE_WEBHOOK_SECRET="whsec_canary_1")
    plan = seeding.build_plan(store, specs, aws_ids, given)
    actions = {a.name: a.action for a in seeding.apply_plan(store, plan)}
    assert actions == {
        "DATABASE_URL": "terraform",
        "REDIS_URL": "terraform",
        "SECRET_KEY": "create",
        "STRIPE_API_KEY": "create",
        "STRIPE_WEBHOOK_SECRET": "create",
    }
    value = store.client.get_secret_value(SecretId=aws_ids["SECRET_KEY"])["SecretString"]
    assert len(value) == 64
    assert (
        store.client.get_secret_value(SecretId=aws_ids["STRIPE_API_KEY"])["SecretString"]
        == "sk_test_canary_1"
    )

    again = seeding.build_plan(store, specs, aws_ids, given)
    assert again.writes == []
    seeding.apply_plan(store, again)
    assert {a.name: a.action for a in again.actions}["STRIPE_API_KEY"] == "unchanged"
    assert {a.name: a.action for a in again.actions}["SECRET_KEY"] == "kept"
    assert all(_versions(store, aws_ids[n]) == 1 for n in ("SECRET_KEY", "STRIPE_API_KEY"))
    assert store.client.get_secret_value(SecretId=aws_ids["SECRET_KEY"])["SecretString"] == value


def test_changed_value_adds_a_version(store, specs, aws_ids):
    seeding.apply_plan(
        store,
        seeding.build_plan(
            store, specs, aws_ids, _given(STRIPE_API_KEY="a-first-value", STRIPE_WEBHOOK_SECRET="whsec-1")
        ),
    )
    plan = seeding.build_plan(store, specs, aws_ids, _given(STRIPE_API_KEY="a-second-value"))
    assert [(a.name, a.action) for a in plan.writes] == [("STRIPE_API_KEY", "update")]
    seeding.apply_plan(store, plan)
    assert _versions(store, aws_ids["STRIPE_API_KEY"]) == 2
    assert (
        store.client.get_secret_value(SecretId=aws_ids["STRIPE_API_KEY"])["SecretString"] == "a-second-value"
    )


def test_rotate_forces_a_version(store, specs, aws_ids):
    given = _given(STRIPE_API_KEY="sk-rotate-me", STRIPE_WEBHOOK_SECRET="whsec-rotate")
    seeding.apply_plan(store, seeding.build_plan(store, specs, aws_ids, given))
    before = store.client.get_secret_value(SecretId=aws_ids["SECRET_KEY"])["SecretString"]
    plan = seeding.build_plan(store, specs, aws_ids, given, rotate=["SECRET_KEY", "STRIPE_API_KEY"])
    assert sorted((a.name, a.action) for a in plan.writes) == [
        ("SECRET_KEY", "rotate"),
        ("STRIPE_API_KEY", "rotate"),
    ]
    seeding.apply_plan(store, plan)
    assert store.client.get_secret_value(SecretId=aws_ids["SECRET_KEY"])["SecretString"] != before
    assert _versions(store, aws_ids["STRIPE_API_KEY"]) == 2  # same value, forced


def test_rotate_refusals(store, specs, aws_ids):
    with pytest.raises(UsageError, match="no new value"):
        seeding.build_plan(store, specs, aws_ids, {}, rotate=["STRIPE_API_KEY"])
    with pytest.raises(UsageError, match="terraform"):
        seeding.build_plan(store, specs, aws_ids, {}, rotate=["DATABASE_URL"])
    with pytest.raises(UsageError, match="no such secret"):
        seeding.build_plan(store, specs, aws_ids, {}, rotate=["NOPE"])


def test_missing_required_input_writes_nothing(store, specs, aws_ids):
    with pytest.raises(UsageError, match="STRIPE_WEBHOOK_SECRET") as info:
        seeding.build_plan(store, specs, aws_ids, _given(STRIPE_API_KEY="sk-only-one"))
    assert "BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET" in info.value.hint
    assert _versions(store, aws_ids["STRIPE_API_KEY"]) == 0
    assert _versions(store, aws_ids["SECRET_KEY"]) == 0


def test_sandbox_placeholders_and_create_missing(store, specs, aws_ids):
    created = f"billing-dev/created-by-sandbox-{uuid.uuid4().hex[:8]}"
    ids = {**aws_ids, "STRIPE_API_KEY": created}
    plan = seeding.build_plan(store, specs, ids, {}, placeholders=True, create_missing=True)
    seeding.apply_plan(store, plan)
    by_name = {a.name: a for a in plan.actions}
    assert (
        by_name["STRIPE_API_KEY"].create_secret and by_name["STRIPE_API_KEY"].origin == "sandbox placeholder"
    )
    assert by_name["STRIPE_WEBHOOK_SECRET"].origin == "sandbox placeholder"
    assert store.latest(created) is not None


def test_inventory_and_check(store, specs, aws_ids):
    ids = {**aws_ids, "REDIS_URL": "billing-dev/never-created"}
    rows = {r.name: r for r in inventory(store, specs, ids)}
    assert rows["DATABASE_URL"].status == OK and rows["DATABASE_URL"].version
    assert rows["STRIPE_API_KEY"].status == MISSING
    assert rows["REDIS_URL"].status == ABSENT
    assert {r.name for r in problems(rows.values())} == {
        "REDIS_URL",
        "SECRET_KEY",
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
    }


def test_read_of_a_missing_secret_is_a_clear_error(store):
    with pytest.raises(CloudError, match="ResourceNotFoundException") as info:
        store.read("billing-dev/none")
    assert "terraform creates it" in info.value.hint
