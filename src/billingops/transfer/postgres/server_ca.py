"""The server CA of a Cloud SQL instance, read from the SQL Admin API, for a connection that has no CA.

Used only where the operator gave none (no --*-sslrootcert, no sslrootcert or verify-* in the URL) and the host
is not loopback (a tunnel such as cloud-sql-proxy does its own TLS). The CA is written 0600 into a 0700
folder (a PEM file is what libpq and the PostgreSQL client tools read). A failed read is never silent: the
caller falls back to sslmode=require and says why.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from billingops.errors import BillingOpsError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaLookup:
    """A CA file and where it came from, or why there is none (`why_not`)."""

    ca_file: Path | None = None
    ca_from: str = ""
    hostname_can_match: bool = True
    why_not: str = ""


def cloud_sql(env: EnvConfig, host: str, folder: Path) -> CaLookup:
    """The server CA of env's Cloud SQL instance at `host`, written under `folder`."""
    from billingops.clouds import cloud_sql_server_ca

    try:
        found = cloud_sql_server_ca(env, host)
    except BillingOpsError as exc:
        return CaLookup(why_not=f"the Cloud SQL server CA could not be read from the SQL Admin API: {exc.message}")
    except Exception as exc:  # noqa: BLE001  # any failure falls back to require, visibly, with its reason
        return CaLookup(why_not=f"the Cloud SQL server CA could not be read from the SQL Admin API: {exc}")
    if found is None:
        return CaLookup(why_not=f"{host} is not the address of a Cloud SQL instance of project "
                                f"{env.gcp_project or '(none configured)'}")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / f"{found.instance.replace(':', '.')}.pem"
    temp = path.with_suffix(".pem.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(found.pem if found.pem.endswith("\n") else found.pem + "\n")
    os.replace(temp, path)
    why = ("the certificate names this DNS name" if found.names_host
           else "the certificate names the instance, not this address: CA checked, name not")
    log.info("using the server CA of Cloud SQL instance %s (%s)", found.instance, path)
    return CaLookup(path, f"the server CA of Cloud SQL instance {found.instance} (SQL Admin API, serverCaMode "
                          f"{found.ca_mode}: {why})", found.names_host)
