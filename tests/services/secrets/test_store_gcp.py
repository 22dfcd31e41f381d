"""GCP Secret Manager adapter: the real SecretManagerServiceClient over REST against GcpFake."""

from __future__ import annotations

import pytest

from billingops.clouds.gcp.secrets import GcpSecretStore
from billingops.config import load_settings
from billingops.errors import CloudError, UsageError
from billingops.services.secrets import seed as seeding
from billingops.services.secrets.inventory import ABSENT, MISSING, OK, inventory, problems
from billingops.services.secrets.sources import Provided
from tests.services.secrets.conftest import PROJECT, write_gcp_config
from tests.support.gcp_fake_secretmanager import payloads


@pytest.fixture
def env(tmp_path, gcp_fake):
    write_gcp_config(tmp_path, gcp_fake.url)
    return load_settings(cwd=tmp_path).env("dev")


@pytest.fixture
def store(env) -> GcpSecretStore:
    return GcpSecretStore.from_env(env, {})


def _given(**values: str) -> dict[str, Provided]:
    return {k: Provided(v, "test") for k, v in values.items()}


def test_seed_writes_then_is_idempotent(store, env, gcp_fake, gcp_ids):
    given = _given(STRIPE_API_KEY="sk_gcp_canary", STRIPE_WEBHOOK_SECRET="whsec_gcp_canary")
    plan = seeding.build_plan(store, env.secrets, gcp_ids, given)
    actions = {a.name: (a.action, a.new_version) for a in seeding.apply_plan(store, plan)}
    assert actions["STRIPE_API_KEY"] == ("create", "1")
    assert actions["SECRET_KEY"] == ("create", "1")
    assert actions["DATABASE_URL"] == ("terraform", None)
    assert payloads(gcp_fake, gcp_ids["STRIPE_API_KEY"]) == [b"sk_gcp_canary"]
    assert len(payloads(gcp_fake, gcp_ids["SECRET_KEY"])[0]) == 64
    add_calls = [r for r in gcp_fake.requests if r.path.endswith(":addVersion")]
    assert len(add_calls) == 3 and all("dataCrc32c" in r.body["payload"] for r in add_calls)

    again = seeding.build_plan(store, env.secrets, gcp_ids, given)
    assert again.writes == []
    seeding.apply_plan(store, again)
    assert payloads(gcp_fake, gcp_ids["STRIPE_API_KEY"]) == [b"sk_gcp_canary"]

    changed = seeding.build_plan(store, env.secrets, gcp_ids, _given(STRIPE_API_KEY="sk_gcp_new"))
    seeding.apply_plan(store, changed)
    assert [(a.name, a.action, a.new_version) for a in changed.writes] == [("STRIPE_API_KEY", "update", "2")]


def test_rotate(store, env, gcp_fake, gcp_ids):
    given = _given(STRIPE_API_KEY="sk_gcp_rot", STRIPE_WEBHOOK_SECRET="whsec_gcp_rot")
    seeding.apply_plan(store, seeding.build_plan(store, env.secrets, gcp_ids, given))
    plan = seeding.build_plan(store, env.secrets, gcp_ids, {}, rotate=["SECRET_KEY"])
    seeding.apply_plan(store, plan)
    first, second = payloads(gcp_fake, gcp_ids["SECRET_KEY"])
    assert first != second and len(second) == 64
    with pytest.raises(UsageError):
        seeding.build_plan(store, env.secrets, gcp_ids, {}, rotate=["STRIPE_WEBHOOK_SECRET"])


def test_inventory_and_check(store, env, gcp_ids):
    ids = {**gcp_ids, "REDIS_URL": f"projects/{PROJECT}/secrets/absent"}
    rows = {r.name: r for r in inventory(store, env.secrets, ids)}
    assert rows["DATABASE_URL"].status == OK and rows["DATABASE_URL"].version == "1"
    assert rows["DATABASE_URL"].changed_at.startswith("2026-01-01")
    assert rows["STRIPE_API_KEY"].status == MISSING
    assert rows["REDIS_URL"].status == ABSENT
    assert len(problems(rows.values())) == 4


def test_read_returns_value_and_bare_names_use_the_project(store, gcp_ids):
    version, value = store.read("billing-dev-database-url")
    assert value.startswith("postgresql://") and version.version_id == "1"


def test_server_errors_become_cloud_errors(store, gcp_fake, gcp_ids):
    gcp_fake.fail_next(10, 403)
    with pytest.raises(CloudError, match="403"):
        store.latest(gcp_ids["SECRET_KEY"])
