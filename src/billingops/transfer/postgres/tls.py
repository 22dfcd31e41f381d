"""How a PostgreSQL connection is protected: one decision per endpoint, reported, never silent.

libpq's default (`sslmode=prefer`) encrypts when the server offers TLS but checks nothing and falls back to
plain text, so a man in the middle sees the master password and every billing row. The rule here:
- a CA is known (`--source-sslrootcert`, the environment's `rds_ca_bundle`, `sslrootcert` in the URL, or the
  Cloud SQL instance's server CA) -> `sslmode=verify-full` (or `verify-ca` where the caller knows the server's
  name cannot match, e.g. Cloud SQL legacy certificates reached by IP);
- `verify-full`/`verify-ca` already in the URL -> kept as given;
- a loopback host (a local server, or a tunnel such as cloud-sql-proxy or SSM port forwarding, which protect
  the hop themselves) -> left as given and reported as not verified by us;
- otherwise -> `sslmode=require` (encrypted, certificate not checked), reported with the option that fixes it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from billingops.errors import UsageError

VERIFIED = ("verify-full", "verify-ca")
WEAK = ("disable", "allow", "prefer")


@dataclass(frozen=True)
class TlsChoice:
    """`params` override the URL's (psycopg keyword arguments / PGSSL* for children); `shown` is the report."""

    mode: str
    note: str
    params: tuple[tuple[str, str], ...] = ()
    fallback: bool = False  # `require` only because no CA is known: a CA looked up elsewhere may replace it

    @property
    def verified(self) -> bool:
        return self.mode in VERIFIED

    @property
    def loopback(self) -> bool:
        return self.mode == "none"

    @property
    def shown(self) -> str:
        return f"{self.mode} ({self.note})"


def decide(params: dict[str, str], *, ca_file: Path | None, ca_flag: str, ca_from: str = "",
           hostname_can_match: bool = True) -> TlsChoice:
    """The TLS mode for a URL's `params` (conninfo_to_dict); `ca_file` from an option or the configuration
    (`ca_from` says which, for the report), `ca_flag` is named when no CA is known."""
    sslmode = (params.get("sslmode") or "").lower()
    in_url = params.get("sslrootcert") or ""
    if ca_file is not None:
        if not ca_file.is_file():
            raise UsageError(f"{ca_flag} {ca_file}: no such file.",
                             hint="Give the server's CA bundle (PEM), e.g. the RDS global-bundle.pem.")
        if sslmode in WEAK:
            raise UsageError(
                f"{ca_flag} was given but the URL says sslmode={sslmode}, which would not use it.",
                hint="Drop sslmode from the URL (billingops then uses verify-full) or drop the CA option.",
            )
        mode = _verify_mode(sslmode, hostname_can_match)
        return TlsChoice(mode, f"CA from {ca_from or ca_flag}", (("sslmode", mode), ("sslrootcert", str(ca_file))))
    if sslmode in VERIFIED:
        return TlsChoice(sslmode, "as given in the URL or PGSSLMODE")
    if in_url and sslmode not in WEAK:
        mode = _verify_mode(sslmode, hostname_can_match)
        return TlsChoice(mode, "CA from the URL's sslrootcert", (("sslmode", mode),))
    if is_loopback(params.get("host") or ""):
        return TlsChoice("none", "loopback: a local server or a tunnel; the certificate is not checked here")
    if sslmode in WEAK:
        return TlsChoice(sslmode, f"as given: not encrypted or not checked; pass {ca_flag} for verify-full")
    return TlsChoice("require", f"no CA known: pass {ca_flag}", (("sslmode", "require"),), fallback=True)


def still_unverified(choice: TlsChoice, why: str, ca_flag: str) -> TlsChoice:
    """The `require` fallback, saying why the CA looked up for it could not be had."""
    return TlsChoice(choice.mode, f"no CA known: {why}; pass {ca_flag}", choice.params, fallback=True)


def _verify_mode(sslmode: str, hostname_can_match: bool) -> str:
    if sslmode == "verify-ca" or not hostname_can_match:
        return "verify-ca"
    return "verify-full"


def is_loopback(host: str) -> bool:
    """True for localhost, 127/8, ::1 and Unix sockets (a host starting with `/`, or none: libpq's socket)."""
    hosts = [h.strip() for h in host.split(",")] if host else [""]
    return all(_one_loopback(h) for h in hosts)


def _one_loopback(host: str) -> bool:
    if not host or host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
