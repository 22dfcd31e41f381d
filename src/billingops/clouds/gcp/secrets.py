"""GCP Secret Manager adapter for the SecretStore protocol (SecretManagerServiceClient injected)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from billingops import redact
from billingops.clouds.base import GCP_TIMEOUT, gcp_client_kwargs, gcp_errors
from billingops.clouds.secrets import SecretNotFound, SecretVersion
from billingops.errors import CloudError, ConfigError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

log = logging.getLogger(__name__)


class GcpSecretStore:
    cloud = "gcp"

    def __init__(self, client: Any, project: str | None = None, *, timeout: float = GCP_TIMEOUT) -> None:
        self.client = client
        self.project = project
        self.timeout = timeout

    @classmethod
    def from_env(cls, env: EnvConfig, outputs: Mapping[str, Any] | None = None) -> GcpSecretStore:
        from google.cloud import secretmanager_v1

        project = (outputs or {}).get("project_id") or env.gcp_project
        with gcp_errors("Creating the Secret Manager client"):
            client = secretmanager_v1.SecretManagerServiceClient(**gcp_client_kwargs(env, "secretmanager"))
        return cls(client, project)

    def resource(self, secret_id: str) -> str:
        """`projects/P/secrets/S` for a full name or a bare secret name."""
        if secret_id.startswith("projects/"):
            return secret_id
        if not self.project:
            raise ConfigError(
                f"Secret {secret_id!r} is not a full resource name and no GCP project is known.",
                hint="Pass --secret-id NAME=projects/P/secrets/S, or set [environments.ENV.gcp] "
                "project in billingops.toml.",
            )
        return f"projects/{self.project}/secrets/{secret_id}"

    def exists(self, secret_id: str) -> bool:
        from google.api_core import exceptions as gexc

        try:
            with _translate_except_not_found(f"Reading secret {secret_id}"):
                self.client.get_secret(name=self.resource(secret_id), timeout=self.timeout)
        except gexc.NotFound:
            return False
        return True

    def latest(self, secret_id: str) -> SecretVersion | None:
        from google.api_core import exceptions as gexc

        name = self.resource(secret_id)
        try:
            with _translate_except_not_found(f"Reading the latest version of secret {name}"):
                version = self.client.get_secret_version(name=f"{name}/versions/latest", timeout=self.timeout)
        except gexc.NotFound:
            self._no_version(name)
            return None
        return SecretVersion(secret_id, version.name.rsplit("/", 1)[-1], _iso(version.create_time))

    def read(self, secret_id: str) -> tuple[SecretVersion, str] | None:
        from google.api_core import exceptions as gexc

        name = self.resource(secret_id)
        try:
            with _translate_except_not_found(f"Accessing secret {name}"):
                response = self.client.access_secret_version(
                    name=f"{name}/versions/latest", timeout=self.timeout
                )
        except gexc.NotFound:
            self._no_version(name)
            return None
        try:
            value = response.payload.data.decode("utf-8")
        except UnicodeDecodeError:
            raise CloudError(
                f"Secret {name} holds binary data, not UTF-8 text.",
                hint="billingops manages text secrets; add a UTF-8 version.",
            ) from None
        redact.register(value)
        redact.register_url(value)
        latest = self.latest(secret_id)
        changed = latest.changed_at if latest else None
        return SecretVersion(secret_id, response.name.rsplit("/", 1)[-1], changed), value

    def add_version(self, secret_id: str, value: str) -> SecretVersion:
        import google_crc32c

        redact.register(value)
        name = self.resource(secret_id)
        data = value.encode("utf-8")
        payload = {"data": data, "data_crc32c": google_crc32c.value(data)}
        with gcp_errors(f"Adding a version to secret {name}", hint=_missing_hint(name)):
            version = self.client.add_secret_version(parent=name, payload=payload, timeout=self.timeout)
        log.info("secret %s: new version %s", name, version.name)
        return SecretVersion(secret_id, version.name.rsplit("/", 1)[-1], _iso(version.create_time))

    def create(self, secret_id: str) -> None:
        name = self.resource(secret_id)
        parent, short = name.split("/secrets/", 1)
        with gcp_errors(f"Creating secret {name}"):
            self.client.create_secret(
                parent=parent,
                secret_id=short,
                secret={"replication": {"automatic": {}}},
                timeout=self.timeout,
            )

    def _no_version(self, name: str) -> None:
        if not self.exists(name):
            raise SecretNotFound(f"Secret {name} does not exist.", hint=_missing_hint(name))
        return None


@contextlib.contextmanager
def _translate_except_not_found(action: str) -> Iterator[None]:
    """gcp_errors, except that NotFound passes through so callers can tell 'absent' from 'failed'."""
    from google.api_core import exceptions as gexc

    try:
        yield
    except gexc.NotFound:
        raise
    except Exception as exc:  # noqa: BLE001  # gcp_errors translates what it knows and re-raises the rest
        with gcp_errors(action):
            raise exc from None


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        if value.year < 1971:  # an unset protobuf Timestamp
            return None
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value) if value else None


def _missing_hint(name: str) -> str:
    return (
        f"Check that {name} exists (terraform creates it: run `billingops deploy` up to apply) and that "
        "your account has roles/secretmanager.secretVersionAdder and secretAccessor on it."
    )
