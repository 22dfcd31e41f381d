"""What `db migrate|status` and the deploy step do: find the database URL, then run the migrator or a task."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops import redact
from billingops.clouds.secrets import url_from_secret
from billingops.errors import ConfigError

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.services.db_migrate.runner import MigrationState

log = logging.getLogger(__name__)

DATABASE_URL = "DATABASE_URL"
# The master credential (migrations and migrate-cloud only) and the application role's credential, both RDS-style
# JSON secrets {engine, host, port, dbname, username, password}; DATABASE_URL is the application role's URL.
MASTER_SECRET_OUTPUT = "database_master_secret_id"  # noqa: S105  # nosec B105  # an output name
APP_SECRET_OUTPUT = "database_app_secret_id"  # noqa: S105  # nosec B105  # an output name
# The session setting through which the migrator hands the app role's password verifier to the migration that
# creates the role (migrations/0005_app_role.sql).
APP_ROLE_SETTING = "billingops.app_role_password"


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
    tls: str = ""  # how the connection was protected, and where its CA came from


def database_url(
    env: EnvConfig, *, explicit: str | None, secret_id: str | None, outputs: Callable[[], Mapping[str, Any]]
) -> str:
    """--database-url, else the master credential (the secret named by the terraform output
    database_master_secret_id), else the DATABASE_URL secret (id from --secret-id, or `secret_ids` of states
    written before the application role existed, when DATABASE_URL was the master's URL)."""
    if explicit:
        redact.register_url(explicit)
        return explicit
    from billingops.clouds import secret_store

    values: Mapping[str, Any] = {}
    if not secret_id:
        values = outputs()
        master = values.get(MASTER_SECRET_OUTPUT)
        if master:
            text = secret_store(env, values).read(str(master))
            if text is None:
                raise ConfigError(
                    f"The database master secret {master} has no version yet.",
                    hint="terraform writes it on apply: run `billingops deploy` through apply, or pass "
                    "--database-url.",
                )
            return url_from_secret(text[1], f"the master secret {master}")
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


def app_role_password(env: EnvConfig, outputs: Callable[[], Mapping[str, Any]]) -> str | None:
    """The application role's password (secret named by the output database_app_secret_id), if there is one."""
    import json

    from billingops.clouds import secret_store

    values = outputs()
    sid = values.get(APP_SECRET_OUTPUT)
    if not sid:
        return None
    found = secret_store(env, values).read(str(sid))
    if found is None:
        raise ConfigError(f"The application role's secret {sid} has no version yet.",
                          hint="terraform writes it on apply: run `billingops deploy` through apply.")
    try:
        password = str(json.loads(found[1])["password"])
    except (ValueError, TypeError, KeyError):
        raise ConfigError(f"The application role's secret {sid} is not JSON with a password.",
                          hint="Re-run `billingops deploy` through apply (bump app_password_version).") from None
    redact.register(password)
    return password


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = 4096) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of `password`: what CREATE/ALTER ROLE ... PASSWORD stores, so the
    password itself never travels in SQL (nor into a server log of statements)."""
    import base64
    import hashlib
    import hmac
    import os

    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = base64.b64encode
    return (f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}$"
            f"{b64(hashlib.sha256(client_key).digest()).decode()}:{b64(server_key).decode()}")


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
    app_password: str | None = None,
) -> MigrateReport:
    """Apply pending migrations as the URL's user (the master). `app_password`: the application role's password,
    handed to the migration that creates the role as a SCRAM verifier in a session setting."""
    from billingops.services.db_migrate.connect import connect
    from billingops.services.db_migrate.files import discover
    from billingops.services.db_migrate.runner import Migrator

    migrations = discover(env.migrations_dir)
    report = MigrateReport(env.name, "direct", dry_run, describe(url) + (f" via {via}" if via else ""))
    with connect(url, via=via, ca_file=env.rds_ca_bundle if env.cloud == "aws" else None, say=say,
                 cloud_sql_env=env if env.cloud == "gcp" else None,
                 on_tls=lambda shown: setattr(report, "tls", shown)) as conn:
        if app_password:
            conn.execute("SELECT set_config(%s, %s, false)", (APP_ROLE_SETTING, scram_verifier(app_password)))
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

    with connect(url, via=via, ca_file=env.rds_ca_bundle if env.cloud == "aws" else None,
                 cloud_sql_env=env if env.cloud == "gcp" else None) as conn:
        return Migrator(conn, discover(env.migrations_dir)).status()
