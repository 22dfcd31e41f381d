"""The secret store protocol both clouds meet, and the factory that picks an adapter by cloud.

A store addresses secrets by the id terraform outputs (`secret_ids`): an ARN (or name) on AWS, a
`projects/P/secrets/S` resource name on GCP. Values are registered with `redact` the moment they are read,
so no later log line, table or error can show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from billingops.errors import CloudError, ConfigError

if TYPE_CHECKING:
    from billingops.config import EnvConfig


class SecretNotFound(CloudError):
    """The secret itself (not just a version) does not exist."""

    title = "secret not found"


@dataclass(frozen=True)
class SecretVersion:
    """Metadata of one secret version: never the value."""

    secret_id: str
    version_id: str
    changed_at: str | None  # ISO 8601, UTC


class SecretStore(Protocol):
    cloud: str

    def exists(self, secret_id: str) -> bool:
        """Whether the secret (the container, not a version) exists."""

    def latest(self, secret_id: str) -> SecretVersion | None:
        """The current version's metadata, or None when the secret has no version yet."""

    def read(self, secret_id: str) -> tuple[SecretVersion, str] | None:
        """The current version and its value (already registered for redaction), or None."""

    def add_version(self, secret_id: str, value: str) -> SecretVersion:
        """Store `value` as the new current version."""

    def create(self, secret_id: str) -> None:
        """Create an empty secret (only used where billingops owns the secret: the sandbox)."""


def secret_store(env: EnvConfig, outputs: Mapping[str, Any] | None = None) -> SecretStore:
    """The adapter for env.cloud, with real SDK clients."""
    if env.cloud == "aws":
        from billingops.clouds.aws.secrets import AwsSecretStore

        return AwsSecretStore.from_env(env, outputs or {})
    if env.cloud == "gcp":
        from billingops.clouds.gcp.secrets import GcpSecretStore

        return GcpSecretStore.from_env(env, outputs or {})
    raise ConfigError(f"Unknown cloud {env.cloud!r} for the secret store.", hint="Pass --cloud aws or gcp.")
