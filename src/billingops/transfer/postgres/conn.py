"""PostgreSQL endpoints: URL validation, sessions with errors translated, and the libpq environment for
children.

Passwords travel to pg_dump/psql/pg_restore in PGPASSWORD (the child's environment), never on argv, so they
cannot show up in `ps` or in an error message that quotes a command line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from billingops import redact
from billingops.errors import ExternalError, UsageError
from billingops.transfer.postgres import tls as pg_tls
from billingops.transfer.postgres import watchdog as postgres_watchdog

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10
# One text form for every value on both servers, so row text (and its hash) does not depend on session
# defaults.
SESSION_SETTINGS = "-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1"


@dataclass(frozen=True)
class PgEndpoint:
    """A PostgreSQL server and database, given as a postgresql:// URL (the password, if any, inside it)."""

    url: str
    role: str  # "source" or "target": named in errors
    # How the connection is protected (transfer/postgres/tls.py); its params override the URL's sslmode and
    # sslrootcert for psycopg and for children. None: the URL as given (tests building endpoints by hand).
    tls: pg_tls.TlsChoice | None = None

    @classmethod
    def parse(cls, url: str, role: str, flag: str, *, ca_file: Path | None = None, ca_from: str = "",
              hostname_can_match: bool = True) -> PgEndpoint:
        validate_url(url, flag)
        redact.register_url(url)
        # the operator's own PGSSLMODE / PGSSLROOTCERT count as given (libpq reads them when the URL is silent)
        given = {k: os.environ[v] for k, v in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"))
                 if os.environ.get(v)}
        choice = pg_tls.decide({**given, **cls(url, role).params()}, ca_file=ca_file,
                               ca_flag=f"--{role}-sslrootcert", ca_from=ca_from,
                               hostname_can_match=hostname_can_match)
        return cls(url, role, choice)

    def ssl_params(self) -> dict[str, Any]:  # Any: spread into psycopg.connect(**kwargs)
        return dict(self.tls.params) if self.tls else {}

    @property
    def shown(self) -> str:
        return redact.redact_url(self.url)

    @property
    def dbname(self) -> str:
        return self.params().get("dbname") or self.params().get("user") or "postgres"

    def params(self) -> dict[str, str]:
        from psycopg.conninfo import conninfo_to_dict

        found = {k: str(v) for k, v in conninfo_to_dict(self.url).items() if v is not None}
        return {**found, **self.ssl_params()}

    def child_env(self, *, read_only: bool = False, extra_options: str = "") -> dict[str, str]:
        """Environment for a libpq child (psql, pg_dump, pg_restore) connecting to this endpoint."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        mapping = {
            "host": "PGHOST",
            "port": "PGPORT",
            "user": "PGUSER",
            "password": "PGPASSWORD",  # nosec B105  # an environment variable name, not a password
            "dbname": "PGDATABASE",
            "sslmode": "PGSSLMODE",
            "sslrootcert": "PGSSLROOTCERT",
            "sslcert": "PGSSLCERT",
            "sslkey": "PGSSLKEY",
            "application_name": "PGAPPNAME",
        }
        for key, value in self.params().items():
            if key in mapping:
                env[mapping[key]] = value
        env.setdefault("PGAPPNAME", f"billingops-migrate-{self.role}")
        env["PGCONNECT_TIMEOUT"] = str(CONNECT_TIMEOUT)
        options = SESSION_SETTINGS
        if read_only:
            options += " -c default_transaction_read_only=on"
        env["PGOPTIONS"] = f"{options} {extra_options}".strip()
        return env

    def connect(self, *, read_only: bool = False, autocommit: bool = True) -> Any:
        """A psycopg connection; connection failures become ExternalError (exit 3) without the password."""
        import psycopg

        params = self.params()
        postgres_watchdog.raise_if_frozen(params)
        options = SESSION_SETTINGS + (" -c default_transaction_read_only=on" if read_only else "")
        try:
            conn = psycopg.connect(
                self.url,
                **self.ssl_params(),
                connect_timeout=CONNECT_TIMEOUT,
                autocommit=autocommit,
                options=options,
                application_name=f"billingops-migrate-{self.role}",
                # notice a peer that vanished without closing (partition, dead host) within about a minute
                keepalives=1,
                keepalives_idle=15,
                keepalives_interval=5,
                keepalives_count=4,
                tcp_user_timeout=60000,
            )
        except psycopg.OperationalError as exc:
            raise ExternalError(
                f"Could not connect to the {self.role} PostgreSQL at {self.shown}: "
                f"{redact.redact(_first_line(str(exc)))}.",
                hint=_connect_hint(str(exc), self.role),
            ) from None
        # A frozen server would block any query on this connection for ever: the migration's watchdog (if one
        # runs) shuts its socket down when the server stops answering.
        postgres_watchdog.track(params, conn)
        return conn


def validate_url(url: str, flag: str) -> None:
    """Reject what libpq would misread, with the flag named; never echo the password."""
    shown = redact.redact_url(url) if url else "(empty)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # parsing the port raises ValueError when it is not a number
    except ValueError as exc:
        raise UsageError(
            f"{flag} {shown} is not a valid URL: {exc}.",
            hint="Use postgresql://USER:PASSWORD@HOST:PORT/DBNAME (percent-encode special "
            "characters in the password).",
        ) from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise UsageError(
            f"{flag} {shown} is not a PostgreSQL URL (scheme {parts.scheme or 'missing'!r}).",
            hint="Use postgresql://USER:PASSWORD@HOST:PORT/DBNAME.",
        )
    if not parts.hostname:
        raise UsageError(
            f"{flag} {shown} has no host.", hint="Use postgresql://USER:PASSWORD@HOST:PORT/DBNAME."
        )
    if not parts.path.strip("/"):
        raise UsageError(
            f"{flag} {shown} names no database.",
            hint="Add the database name: postgresql://USER:PASSWORD@HOST:PORT/DBNAME.",
        )
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise UsageError(
            f"{flag} {shown} is not a valid connection URL: {redact.redact(str(exc))}.",
            hint="Check the query parameters (sslmode=require, sslrootcert=FILE ...).",
        ) from None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines[:2]) if lines else "unknown error"


def _connect_hint(text: str, role: str) -> str:
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return (
            f"Check the {role} user name and password (the secret store's DATABASE_URL, or the "
            f"--{role}-postgres URL)."
        )
    if "does not exist" in low:
        return f"Check the database name in the {role} URL."
    return (
        f"Check that the {role} host and port are reachable from here (VPN, bastion tunnel, security group "
        f"or authorized network), then retry."
    )
