"""What an applied terraform/aws state may not hold: checks shared by the tests that apply it on moto."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from urllib.parse import urlsplit

import boto3

RunTerraform = Callable[[list[str]], subprocess.CompletedProcess]


def credentials_in_moto(endpoint: str, region: str) -> dict[str, str]:
    """Every password the apply wrote to Secrets Manager (read back from moto), by where it was found."""
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=region,
                          aws_access_key_id="test", aws_secret_access_key="test")
    found = {}
    for secret in client.list_secrets()["SecretList"]:
        try:
            value = client.get_secret_value(SecretId=secret["ARN"])["SecretString"]
        except client.exceptions.ResourceNotFoundException:
            continue  # created empty (app secrets billingops seeds later)
        if value.startswith("{"):
            password = json.loads(value).get("password")
        else:
            password = urlsplit(value).password
        if password:
            found[secret["Name"]] = password
    return found


def assert_no_credential_in_state(endpoint: str, region: str, terraform: RunTerraform) -> None:
    """Neither `terraform show -json` nor the raw state (`state pull`, whatever the backend) holds a password
    that the apply wrote to Secrets Manager, and no resource keeps a password-like attribute."""
    credentials = credentials_in_moto(endpoint, region)
    show = terraform(["show", "-json"])
    assert show.returncode == 0, show.stderr
    pull = terraform(["state", "pull"])
    assert pull.returncode == 0 and '"resources"' in pull.stdout, pull.stderr
    for name, password in credentials.items():
        assert len(password) >= 32, name
        assert password not in show.stdout, f"the password of {name} is in `terraform show -json`"
        assert password not in pull.stdout, f"the password of {name} is in the raw state"

    state = json.loads(show.stdout)
    resources = [r for m in _modules(state["values"]["root_module"]) for r in m.get("resources", [])]
    for resource in resources:
        values = resource.get("values", {})
        for attribute in ("password", "secret_string", "auth_token", "master_password", "result"):
            value = values.get(attribute)
            if resource["type"] == "aws_secretsmanager_secret_version" and attribute == "secret_string":
                # only plain values (REDIS_URL without a password) may be stored
                assert not value or not urlsplit(value).password, resource["address"]
                continue
            assert not value, f"{resource['address']}.{attribute} is stored in state"

    names = {name.rsplit("/", 1)[-1] for name in credentials}
    # The master, the application role and DATABASE_URL (whose password is the application role's).
    assert {"master", "app", "DATABASE_URL"} <= names, f"expected credentials not written: {sorted(credentials)}"
    by_suffix = {name.rsplit("/", 1)[-1]: value for name, value in credentials.items()}
    assert by_suffix["DATABASE_URL"] == by_suffix["app"], "DATABASE_URL and rds/app disagree on the password"
    assert by_suffix["master"] != by_suffix["app"]


def _modules(module: dict) -> list[dict]:
    return [module, *[m for child in module.get("child_modules", []) for m in _modules(child)]]
