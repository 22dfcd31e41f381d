"""AWS Secrets Manager adapter for the SecretStore protocol (boto3 client injected)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from billingops import redact
from billingops.clouds.base import aws_client, aws_errors
from billingops.clouds.secrets import SecretNotFound, SecretVersion
from billingops.errors import CloudError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

log = logging.getLogger(__name__)

_NOT_FOUND = "ResourceNotFoundException"


class AwsSecretStore:
    cloud = "aws"

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_env(cls, env: EnvConfig, outputs: Mapping[str, Any] | None = None) -> AwsSecretStore:
        region = (outputs or {}).get("region") or env.region
        return cls(aws_client("secretsmanager", region))

    def exists(self, secret_id: str) -> bool:
        try:
            with aws_errors(f"Describing secret {secret_id}"):
                self.client.describe_secret(SecretId=secret_id)
        except CloudError as exc:
            if exc.details.get("aws_error_code") == _NOT_FOUND:
                return False
            raise
        return True

    def latest(self, secret_id: str) -> SecretVersion | None:
        # describe_secret carries both the AWSCURRENT version id and LastChangedDate in one call
        try:
            with aws_errors(f"Describing secret {secret_id}", hint=_missing_hint(secret_id)):
                response = self.client.describe_secret(SecretId=secret_id)
        except CloudError as exc:
            if exc.details.get("aws_error_code") == _NOT_FOUND:
                raise SecretNotFound(exc.message, hint=exc.hint, details=exc.details) from None
            raise
        for version_id, stages in (response.get("VersionIdsToStages") or {}).items():
            if "AWSCURRENT" in stages:
                changed = response.get("LastChangedDate") or response.get("CreatedDate")
                return SecretVersion(secret_id, version_id, _iso(changed))
        return None

    def read(self, secret_id: str) -> tuple[SecretVersion, str] | None:
        try:
            with aws_errors(f"Reading secret {secret_id}", hint=_missing_hint(secret_id)):
                response = self.client.get_secret_value(SecretId=secret_id)
        except CloudError as exc:
            # A secret with no version answers ResourceNotFound too; tell the two apart.
            if exc.details.get("aws_error_code") == _NOT_FOUND:
                if self.exists(secret_id):
                    return None
                raise SecretNotFound(exc.message, hint=exc.hint, details=exc.details) from None
            raise
        value = response.get("SecretString")
        if value is None:
            raise CloudError(
                f"Secret {secret_id} holds binary data, not a string.",
                hint="billingops manages string secrets; store the value as SecretString.",
            )
        redact.register(value)
        redact.register_url(value)
        version = SecretVersion(secret_id, response["VersionId"], _iso(response.get("CreatedDate")))
        return version, value

    def add_version(self, secret_id: str, value: str) -> SecretVersion:
        redact.register(value)
        with aws_errors(f"Writing a new version of secret {secret_id}", hint=_missing_hint(secret_id)):
            response = self.client.put_secret_value(
                SecretId=secret_id, SecretString=value, ClientRequestToken=str(uuid.uuid4())
            )
        log.info("secret %s: new version %s", secret_id, response["VersionId"])
        return SecretVersion(secret_id, response["VersionId"], _iso(datetime.now(UTC)))

    def create(self, secret_id: str) -> None:
        with aws_errors(f"Creating secret {secret_id}"):
            self.client.create_secret(Name=secret_id, Description="created by billingops (sandbox)")


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value) if value else None


def _missing_hint(secret_id: str) -> str:
    return (
        f"Check that {secret_id} exists in this account and region (terraform creates it: run "
        "`billingops deploy` up to apply) and that your role may read and write it."
    )
