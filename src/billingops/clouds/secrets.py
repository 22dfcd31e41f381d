"""The secret store protocol both clouds meet, and the factory that picks an adapter by cloud.

A store addresses secrets by the id terraform outputs (`secret_ids`): an ARN (or name) on AWS, a
`projects/P/secrets/S` resource name on GCP. Values are registered with `redact` the moment they are read,
so no later log line, table or error can show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from billingops.errors import CloudError

if TYPE_CHECKING:
    pass


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


