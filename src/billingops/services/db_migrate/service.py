"""What `db migrate|status` and the deploy step do: find the database URL, then run the migrator or a task."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops import redact
from billingops.errors import ConfigError

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.services.db_migrate.runner import MigrationState

log = logging.getLogger(__name__)

DATABASE_URL = "DATABASE_URL"


@dataclass
class MigrateReport:
    env: str
    mode: str  # direct | task
    dry_run: bool
    database: str = ""  # host:port/db, never credentials
    applied: list[MigrationState] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    task: str | None = None
    seconds: float | None = None


def database_url(
    env: EnvConfig, *, explicit: str | None, secret_id: str | None, outputs: Callable[[], Mapping[str, Any]]
) -> str:
    """--database-url, else the DATABASE_URL secret terraform wrote (id from --secret-id or `secret_ids`)."""
    if explicit:
        redact.register_url(explicit)
        return explicit
    from billingops.clouds import secret_store

    values: Mapping[str, Any] = {}
    if not secret_id:
        values = outputs()
        secret_id = (values.get("secret_ids") or {}).get(DATABASE_URL)
        if not secret_id:
            raise ConfigError(
                "The terraform outputs name no DATABASE_URL secret, so the database URL is unknown.",
                hint="Run `billingops deploy` through apply, or pass --database-url (for a tunnel "
                "also --via) or --secret-id DATABASE_URL=ID.",
            )
    found = secret_store(env, values).read(secret_id)
    if found is None:
        raise ConfigError(
            f"The DATABASE_URL secret {secret_id} has no version yet.",
            hint="terraform writes it on apply: run `billingops deploy` through apply, or pass "
            "--database-url.",
        )
    return found[1]


def describe(url: str) -> str:
    from psycopg import conninfo

    try:
        params = conninfo.conninfo_to_dict(url)
    except Exception:  # noqa: BLE001  # only for display; connect() reports a bad URL properly
        return redact.redact_url(url)
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"


def migrate_direct(
    env: EnvConfig,
    url: str,
    *,
    via: str | None = None,
    dry_run: bool = False,
    lock_wait: float = 60.0,
    say: Callable[[str], None] | None = None,
) -> MigrateReport:
    from billingops.services.db_migrate.connect import connect
    from billingops.services.db_migrate.files import discover
    from billingops.services.db_migrate.runner import Migrator

    migrations = discover(env.migrations_dir)
    report = MigrateReport(env.name, "direct", dry_run, describe(url) + (f" via {via}" if via else ""))
    with connect(url, via=via) as conn:
        migrator = Migrator(conn, migrations, lock_wait=lock_wait, say=say)
        if dry_run:
            report.pending = [m.label for m in migrator.pending()]
        else:
            report.applied = migrator.migrate()
    return report


def status(env: EnvConfig, url: str, *, via: str | None = None) -> list[MigrationState]:
    from billingops.services.db_migrate.connect import connect
    from billingops.services.db_migrate.files import discover
    from billingops.services.db_migrate.runner import Migrator

    with connect(url, via=via) as conn:
        return Migrator(conn, discover(env.migrations_dir)).status()
