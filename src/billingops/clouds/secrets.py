"""The secret store protocol both clouds meet, and the factory that picks an adapter by cloud.

A store addresses secrets by the id terraform outputs (`secret_ids`): an ARN (or name) on AWS, a
`projects/P/secrets/S` resource name on GCP. Values are registered with `redact` the moment they are read,
so no later log line, table or error can show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from billingops import redact
from billingops.errors import CloudError, ConfigError

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


def url_from_secret(text: str, what: str) -> str:
    """A postgresql:// URL from an RDS-style JSON secret; its password is registered for redaction."""
    import functools
    import json
    from urllib.parse import quote

    try:
        data = json.loads(text)
        params = {"host": str(data["host"]), "port": str(data.get("port") or 5432),
                  "dbname": str(data.get("dbname") or "postgres"), "user": str(data["username"]),
                  "password": str(data["password"])}
    except (ValueError, TypeError, KeyError):
        raise ConfigError(
            f"{what} is not the JSON {{engine, host, port, dbname, username, password}} terraform writes.",
            hint="Check the secret's value (without printing it), re-run `billingops deploy` through apply, or "
            "pass --database-url.",
        ) from None
    redact.register(params["password"])
    q = functools.partial(quote, safe="")
    host = f"[{params['host']}]" if ":" in params["host"] else params["host"]
    return f"postgresql://{q(params['user'])}:{q(params['password'])}@{host}:{q(params['port'])}/{q(params['dbname'])}"
