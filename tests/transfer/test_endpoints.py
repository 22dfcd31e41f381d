"""Endpoint resolution: explicit URLs win; otherwise terraform outputs + the cloud's secret store."""

from __future__ import annotations

import pytest

from billingops import redact
from billingops.config import load_settings
from billingops.errors import ConfigError, TerraformError, UsageError
from billingops.transfer import endpoints


@pytest.fixture
def envs(tmp_path):
    settings = load_settings(cwd=tmp_path)
    return settings.env("prod", "aws"), settings.env("prod", "gcp")


def never(*_args, **_kwargs):
    raise AssertionError("no cloud look-up expected when URLs are given")


def test_explicit_urls_need_no_cloud(envs):
    aws, gcp = envs
    found = endpoints.resolve(
        source_env=aws,
        target_env=gcp,
        want_pg=True,
        want_redis=True,
        outputs_reader=never,
        store_factory=never,
        flags={
            "source_postgres": "postgresql://app:s3cr3t-src@10.0.0.5:5432/billing",
            "target_postgres": "postgresql://app:s3cr3t-dst@127.0.0.1:6543/billing",
            "source_redis": "rediss://:r3d1s-pw@cache.internal:6379/0",
            "target_redis": "redis://127.0.0.1:6380/0",
        },
    )
    shown = found.shown()
    assert shown["source_postgres"] == "postgresql://app:***@10.0.0.5:5432/billing"
    assert shown["source_redis"] == "rediss://:***@cache.internal:6379/0"
    assert redact.redact("pw is s3cr3t-dst") == "pw is ***"  # registered for every later output
    assert found.target_pg.child_env()["PGPASSWORD"] == "s3cr3t-dst"


class FakeStore:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.read_ids: list[str] = []

    def read(self, secret_id: str):
        self.read_ids.append(secret_id)
        return ("v1", self.values[secret_id]) if secret_id in self.values else None


def test_urls_come_from_terraform_outputs_and_the_secret_store(envs):
    aws, gcp = envs
    outputs = {
        "aws": {"secret_ids": {"DATABASE_URL": "arn:db", "REDIS_URL": "arn:redis"}},
        "gcp": {"secret_ids": {"DATABASE_URL": "projects/p/secrets/db", "REDIS_URL": "projects/p/secrets/r"}},
    }
    stores = {
        "aws": FakeStore(
            {
                "arn:db": "postgresql://app:from-aws-secret@rds.internal:5432/billing",
                "arn:redis": "rediss://:aws-redis-pw@cache.internal:6379/0",
            }
        ),
        "gcp": FakeStore(
            {
                "projects/p/secrets/db": "postgresql://app:from-gcp-secret@10.1.0.3:5432/billing",
                "projects/p/secrets/r": "redis://10.1.0.4:6379/0",
            }
        ),
    }
    found = endpoints.resolve(
        source_env=aws,
        target_env=gcp,
        want_pg=True,
        want_redis=True,
        flags={"target_postgres": "postgresql://app:tunnel-pw@127.0.0.1:15432/billing"},
        outputs_reader=lambda env: outputs[env.cloud],
        store_factory=lambda env, _outputs: stores[env.cloud],
    )
    assert found.source_pg.url.endswith("@rds.internal:5432/billing")
    assert found.target_pg.url.endswith("@127.0.0.1:15432/billing")  # the flag won over the cloud
    assert found.target_redis.url == "redis://10.1.0.4:6379/0"
    assert stores["gcp"].read_ids == ["projects/p/secrets/r"]
    assert "from-aws-secret" not in str(found.shown()) and redact.redact("from-aws-secret") == "***"


def test_unreadable_terraform_outputs_tell_the_user_to_pass_urls(envs):
    aws, gcp = envs

    def broken(env):
        raise TerraformError("terraform output failed: backend not initialised")

    with pytest.raises(ConfigError) as err:
        endpoints.resolve(
            source_env=aws,
            target_env=gcp,
            want_pg=True,
            want_redis=False,
            flags={},
            outputs_reader=broken,
            store_factory=never,
        )
    assert "--source-postgres" in err.value.hint and "backend not initialised" in err.value.message


def test_missing_secret_id_is_a_config_error(envs):
    aws, gcp = envs
    with pytest.raises(ConfigError, match="no secret id for REDIS_URL"):
        endpoints.resolve(
            source_env=aws,
            target_env=gcp,
            want_pg=False,
            want_redis=True,
            flags={},
            outputs_reader=lambda env: {"secret_ids": {}},
            store_factory=never,
        )


def test_aws_secret_read_through_moto(envs, moto):
    from billingops.clouds.base import aws_client

    aws, gcp = envs
    client = aws_client("secretsmanager", aws.region)
    arn = client.create_secret(
        Name="billing-prod/DATABASE_URL",
        SecretString="postgresql://app:moto-secret-pw@rds.internal:5432/billing",
    )["ARN"]
    found = endpoints.resolve(
        source_env=aws,
        target_env=gcp,
        want_pg=True,
        want_redis=False,
        flags={"target_postgres": "postgresql://a:b@127.0.0.1:1/x"},
        outputs_reader=lambda env: {"secret_ids": {"DATABASE_URL": arn}},
    )
    assert found.source_pg.params()["password"] == "moto-secret-pw"
    assert found.source_pg.shown == "postgresql://app:***@rds.internal:5432/billing"


@pytest.mark.parametrize(
    "url,ca,expected",
    [
        ("http://cache:6379", None, "not a Redis URL"),
        ("redis://:pw@cache:port/0", None, "not a valid URL"),
        ("redis://cache:6379/0", "/etc/hostname", "not a TLS"),
        ("rediss://cache:6379/0", "/nonexistent/ca.pem", "no such file"),
    ],
)
def test_bad_redis_urls(url, ca, expected):
    from pathlib import Path

    with pytest.raises(UsageError, match=expected):
        endpoints.validate_redis_url(url, "--source-redis", Path(ca) if ca else None, "--source-redis-ca")


def test_cli_without_urls_or_terraform_is_a_clear_exit_2(run_cli):
    result = run_cli("migrate-cloud", "gcp", "aws", "--env", "staging", "--only", "postgres")
    assert result.returncode == 2, result.stderr
    assert "--source-postgres" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "name, value",
    [
        ("BILLINGOPS_COPY_STALL_SECONDS", "abc"),
        ("BILLINGOPS_PG_PROBE_SECONDS", "-1"),
        ("BILLINGOPS_PG_PROBE_TIMEOUT", "1"),
    ],
)
def test_malformed_timing_knob_is_exit_2_before_anything_connects(run_cli, name, value):
    result = run_cli(
        "migrate-cloud", "aws", "gcp", "--env", "dev", "--no-lock", "--only", "postgres",
        "--source-postgres", "postgresql://app:pw@127.0.0.1:1/billing",
        "--target-postgres", "postgresql://app:pw@127.0.0.1:2/billing",
        env={name: value},
    )
    assert result.returncode == 2, result.stderr
    assert name in result.stderr and "Traceback" not in result.stderr


def test_postgres_is_read_as_the_master_when_the_stack_has_an_app_role(envs):
    """Issue 15: DATABASE_URL is the app role's URL; migrate-cloud copies PostgreSQL as the master."""
    import json

    aws, gcp = envs
    master = {"engine": "postgres", "host": "rds.internal", "port": 5432, "dbname": "billing",
              "username": "billing_admin", "password": "master-pw-1234"}
    store = FakeStore({"arn:master": json.dumps(master),
                       "arn:db": "postgresql://billing_app:app-pw-12345@rds.internal:5432/billing"})
    found = endpoints.resolve(
        source_env=aws, target_env=gcp, want_pg=True, want_redis=False,
        flags={"target_postgres": "postgresql://app:tunnel-pw@127.0.0.1:15432/billing"},
        outputs_reader=lambda env: {"secret_ids": {"DATABASE_URL": "arn:db"},
                                    "database_master_secret_id": "arn:master"},
        store_factory=lambda env, _outputs: store,
    )
    assert found.source_pg.url == "postgresql://billing_admin:master-pw-1234@rds.internal:5432/billing"
    assert store.read_ids == ["arn:master"]
    assert "master-pw-1234" not in str(found.shown()) and redact.redact("master-pw-1234") == "***"
