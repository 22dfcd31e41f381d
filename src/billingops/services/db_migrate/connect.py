"""Open the migration connection: from a URL (secret store or --database-url), optionally through a tunnel.

Private databases are reached through a forwarded port (SSM port forwarding to RDS, the Cloud SQL Auth
Proxy); `via="127.0.0.1:15432"` keeps the URL's user, password, database and options and swaps the address.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops import redact
from billingops.errors import ExternalError, UsageError

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.transfer.postgres.server_ca import CaLookup

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10
TUNNEL_HINT = (
    "If the database is private, open a tunnel and pass its local address with --via 127.0.0.1:PORT: "
    "on AWS `aws ssm start-session --target <bastion-or-task> --document-name "
    "AWS-StartPortForwardingSessionToRemoteHost --parameters host=<rds-endpoint>,portNumber=5432,"
    "localPortNumber=15432`; on GCP `cloud-sql-proxy --port 15432 <project:region:instance>`."
)


def parse_via(via: str) -> tuple[str, int]:
    host, sep, port = via.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--via {via!r} is not HOST:PORT.",
            hint="Pass the tunnel's local address, e.g. --via 127.0.0.1:15432.",
        )
    return host.strip("[]"), int(port)


def _apply_tls(params: dict[str, Any], ca_file: Path | None, via: str | None, say: Any,
               server_ca: Callable[[str], CaLookup] | None = None) -> str:
    """The same TLS rule as migrate-cloud (transfer/postgres/tls.py), decided on the URL's own host: through a
    tunnel (--via) the certificate still names the database, not 127.0.0.1, so a CA gives verify-ca there.
    `server_ca(host)` finds the CA of a Cloud SQL instance when no other is known. Returns the report."""
    from billingops.transfer.postgres import tls as pg_tls

    given = {k: str(v) for k, v in params.items()}
    choice = pg_tls.decide(given, ca_file=ca_file, ca_flag="rds_ca_bundle", ca_from="rds_ca_bundle",
                           hostname_can_match=not via)
    if server_ca is not None and choice.fallback and not via:
        found = server_ca(str(params.get("host") or ""))
        if found.ca_file is not None:
            choice = pg_tls.decide(given, ca_file=found.ca_file, ca_flag="sslrootcert", ca_from=found.ca_from,
                                   hostname_can_match=found.hostname_can_match)
        else:
            choice = pg_tls.still_unverified(choice, found.why_not, "sslrootcert=FILE in the URL")
    if via and not choice.verified:
        # cloud-sql-proxy speaks plain PostgreSQL on its local port (it does TLS to the instance itself), so
        # forcing sslmode=require there would fail: the URL's own setting stands.
        log.info("database TLS: through the tunnel %s, as the URL says", via)
        return f"as the URL says, through the tunnel {via}"
    params.update(dict(choice.params))
    if not choice.verified and not choice.loopback:
        (say or log.warning)(f"The database connection is not certificate-checked: {choice.shown}. Set "
                             "rds_ca_bundle for the environment (AWS) or put sslrootcert=FILE in the URL.")
    else:
        log.info("database TLS: %s", choice.shown)
    return choice.shown


def connect(
    url: str,
    *,
    via: str | None = None,
    lock_timeout: str = "30s",
    application_name: str = "billingops-migrate",
    ca_file: Path | None = None,
    say: Any = None,
    cloud_sql_env: EnvConfig | None = None,
    on_tls: Callable[[str], None] | None = None,
) -> Any:
    """An autocommit psycopg connection; `lock_timeout` bounds how long DDL waits behind app traffic.

    `cloud_sql_env`: a GCP environment whose Cloud SQL instance's server CA verifies the connection when no CA
    is known otherwise (written 0600 into a 0700 folder that is removed once connected); `on_tls` is told how
    the connection is protected and where its CA came from."""
    import psycopg
    from psycopg import conninfo

    redact.register_url(url)
    try:
        params: dict[str, Any] = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise UsageError(
            f"The database URL {redact.redact_url(url)} is not a valid PostgreSQL connection string.",
            hint="Use postgresql://USER:PASSWORD@HOST:PORT/DBNAME (quote it in the shell).",
        ) from None
    redact.register(str(params.get("password") or ""))
    with tempfile.TemporaryDirectory(prefix="billingops-ca-") as folder:  # 0700; libpq reads the CA at connect
        lookup: Callable[[str], CaLookup] | None = None
        if cloud_sql_env is not None:
            from billingops.transfer.postgres import server_ca

            lookup = functools.partial(server_ca.cloud_sql, cloud_sql_env, folder=Path(folder))
        shown = _apply_tls(params, ca_file, via, say, lookup)
        if on_tls is not None:
            on_tls(shown)
        return _connect(params, via, lock_timeout, application_name)


def _connect(params: dict[str, Any], via: str | None, lock_timeout: str, application_name: str) -> Any:
    import psycopg

    if via:
        params["host"], params["port"] = parse_via(via)
    where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    params.setdefault("application_name", application_name)
    params["options"] = f"{params.get('options', '')} -c lock_timeout={lock_timeout}".strip()
    log.info("connecting to %s as %s", where, params.get("user", "(default user)"))
    try:
        return psycopg.connect(**params, autocommit=True)
    except psycopg.Error as exc:
        why = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
        why = redact.redact(why).rstrip(".")
        raise ExternalError(
            f"Cannot connect to PostgreSQL at {where}: {why}{'' if why.endswith('?') else '.'}",
            hint=TUNNEL_HINT,
        ) from None
