"""Where the data lives: explicit URLs win; otherwise each cloud's terraform outputs and secret store.

The DATABASE_URL / REDIS_URL secrets hold what the application itself connects with, so migrate-cloud reads
them (secret ids from the `secret_ids` terraform output) and registers every value for redaction before use;
PostgreSQL is read as the master instead (output database_master_secret_id) where the stack has an app role.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from billingops import redact
from billingops.config import EnvConfig
from billingops.errors import BillingOpsError, ConfigError, UsageError
from billingops.transfer.postgres.conn import PgEndpoint

if TYPE_CHECKING:
    from billingops.transfer.postgres.server_ca import CaLookup

log = logging.getLogger(__name__)

CLOUDS = ("aws", "gcp")
SECRET_FOR = {"postgres": "DATABASE_URL", "redis": "REDIS_URL"}
# PostgreSQL is copied as the master (RDS-style JSON secret) when the stack has one: DATABASE_URL is the app role.
MASTER_SECRET_OUTPUT = "database_master_secret_id"  # noqa: S105  # nosec B105  # an output name


@dataclass
class Endpoints:
    source_pg: PgEndpoint | None = None
    target_pg: PgEndpoint | None = None
    source_redis: Any = None  # redis_copy.RedisEndpoint
    target_redis: Any = None
    # sides whose rediss:// URL switches certificate checks off, allowed by --allow-insecure-redis-tls
    insecure_redis: tuple[str, ...] = ()

    def shown(self) -> dict[str, str | None]:
        return {
            "source_postgres": self.source_pg.shown if self.source_pg else None,
            "target_postgres": self.target_pg.shown if self.target_pg else None,
            "source_redis": redact.redact_url(self.source_redis.url) if self.source_redis else None,
            "target_redis": redact.redact_url(self.target_redis.url) if self.target_redis else None,
        }

    def tls(self) -> dict[str, str]:
        """How each connection is protected: the --json `tls` field and the audit record's."""
        found: dict[str, str] = {}
        for side in ("source", "target"):
            pg: PgEndpoint | None = getattr(self, f"{side}_pg")
            if pg is not None and pg.tls is not None:
                found[side] = pg.tls.shown
            redis = getattr(self, f"{side}_redis")
            if redis is not None:
                found[f"{side}_redis"] = _redis_tls(redis.url, redis.ca_file, side in self.insecure_redis)
        return found

    def unverified(self) -> list[str]:
        """PostgreSQL sides reached over the network without a certificate check (to warn about)."""
        return [side for side in ("source", "target")
                if (pg := getattr(self, f"{side}_pg")) is not None and pg.tls is not None
                and not pg.tls.verified and not pg.tls.loopback]


def _redis_tls(url: str, ca_file: str | None, insecure: bool) -> str:
    if urlsplit(url).scheme != "rediss":
        return "none (redis://: not encrypted)"
    if insecure:
        return "not verified (ssl_cert_reqs=none, allowed by --allow-insecure-redis-tls)"
    return f"verified ({'CA from the --*-redis-ca file' if ca_file else 'system CAs'})"


def check_clouds(source: str, target: str) -> None:
    for name, value in (("SOURCE", source), ("TARGET", target)):
        if value not in CLOUDS:
            raise UsageError(
                f"{name} must be aws or gcp, not {value!r}.",
                hint="Example: billingops migrate-cloud aws gcp --env prod",
            )
    if source == target:
        raise UsageError(
            f"SOURCE and TARGET are both {source}: migrate-cloud moves data between the two clouds.",
            hint="Give two different clouds, e.g. `billingops migrate-cloud aws gcp --env prod`.",
        )


INSECURE_REDIS_FLAG = "--allow-insecure-redis-tls"


def turns_checks_off(url: str) -> bool:
    """True when a rediss:// URL asks for no certificate check (ssl_cert_reqs=none / CERT_NONE, any case), the
    redis-py spelling our RESP client honours too."""
    from urllib.parse import parse_qsl

    try:
        query = parse_qsl(urlsplit(url).query)
    except ValueError:
        return False
    return any(k.lower() == "ssl_cert_reqs" and v.strip().lower() in ("none", "cert_none") for k, v in query)


def check_redis_tls(url: str, flag: str, allow_insecure: bool) -> bool:
    """Refuse a Redis URL that turns certificate checks off unless the operator allowed it explicitly: without
    the check anyone on the path can pose as the server and read every session and cached secret. Returns True
    when the URL is insecure and allowed (the caller warns and audits)."""
    if not turns_checks_off(url):
        return False
    if not allow_insecure:
        raise UsageError(
            f"{flag} {redact.redact_url(url)} turns TLS certificate checks off (ssl_cert_reqs=none): anyone on the "
            "network path could pose as the server and read or change the data, so billingops refuses it unless "
            f"{INSECURE_REDIS_FLAG} is given.",
            hint=f"Give the server's CA with {flag}-ca FILE and drop ssl_cert_reqs from the URL; if you accept "
            f"the risk (e.g. a rehearsal), pass {INSECURE_REDIS_FLAG} (the run is audited as such).",
        )
    return True


def validate_redis_url(url: str, flag: str, ca_file: Path | None, ca_flag: str) -> None:
    shown = redact.redact_url(url) if url else "(empty)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError on a malformed port
    except ValueError as exc:
        raise UsageError(
            f"{flag} {shown} is not a valid URL: {exc}.",
            hint="Use redis://:PASSWORD@HOST:6379/0 or rediss://... for TLS.",
        ) from None
    if parts.scheme not in ("redis", "rediss"):
        raise UsageError(
            f"{flag} {shown} is not a Redis URL (scheme {parts.scheme or 'missing'!r}).",
            hint="Use redis://:PASSWORD@HOST:6379/0 or rediss://... for TLS.",
        )
    if not parts.hostname:
        raise UsageError(f"{flag} {shown} has no host.", hint="Use redis://:PASSWORD@HOST:6379/0.")
    if ca_file is not None:
        if parts.scheme != "rediss":
            raise UsageError(
                f"{ca_flag} was given but {flag} is not a TLS (rediss://) URL.",
                hint="Use rediss://... with a CA file, or drop the CA option.",
            )
        if not ca_file.is_file():
            raise UsageError(
                f"{ca_flag} {ca_file}: no such file.", hint="Give the path of the server CA (PEM)."
            )


def resolve(
    *,
    source_env: EnvConfig | None,
    target_env: EnvConfig | None,
    want_pg: bool,
    want_redis: bool,
    flags: dict[str, Any],
    outputs_reader: Any = None,
    store_factory: Any = None,
    server_ca: Callable[[EnvConfig, str], CaLookup] | None = None,
) -> Endpoints:
    """Build the four endpoints; `flags` has source_postgres, target_postgres, source_redis, target_redis, the
    four CA files (source/target _redis_ca, _sslrootcert) and allow_insecure_redis_tls. Cloud look-ups happen
    only for endpoints without a flag. `server_ca(env, host)` looks up the CA of a GCP side's Cloud SQL
    instance when no CA is known otherwise (None: no look-up)."""
    from billingops.transfer.redis.copy import RedisEndpoint

    found = Endpoints()
    insecure: list[str] = []
    lookups: dict[str, _CloudLookup] = {}
    for side, env in (("source", source_env), ("target", target_env)):
        if want_pg:
            url = flags.get(f"{side}_postgres")
            flag = f"--{side}-postgres"
            if not url:
                url = _lookup(lookups, env, side, outputs_reader, store_factory).url("postgres", flag)
            ca_file, ca_from = _pg_ca(flags, side, env)
            pg = PgEndpoint.parse(url, side, flag, ca_file=ca_file, ca_from=ca_from)
            if server_ca is not None and env is not None and env.cloud == "gcp" and pg.tls and pg.tls.fallback:
                pg = _with_cloud_sql_ca(pg, env, flag, server_ca)
            setattr(found, f"{side}_pg", pg)
        if want_redis:
            url = flags.get(f"{side}_redis")
            flag, ca_flag = f"--{side}-redis", f"--{side}-redis-ca"
            ca = flags.get(f"{side}_redis_ca")
            if not url:
                url = _lookup(lookups, env, side, outputs_reader, store_factory).url("redis", flag)
            validate_redis_url(url, flag, ca, ca_flag)
            redact.register_url(url)
            if check_redis_tls(url, flag, bool(flags.get("allow_insecure_redis_tls"))):
                insecure.append(side)
            setattr(found, f"{side}_redis", RedisEndpoint(url, str(ca) if ca else None))
    found.insecure_redis = tuple(insecure)
    return found


def _with_cloud_sql_ca(pg: PgEndpoint, env: EnvConfig, flag: str,
                       server_ca: Callable[[EnvConfig, str], CaLookup]) -> PgEndpoint:
    """`pg` verified with its Cloud SQL instance's server CA, or still `require` with the reason why not."""
    from dataclasses import replace

    from billingops.transfer.postgres import tls as pg_tls

    found = server_ca(env, pg.params().get("host") or "")
    if found.ca_file is not None:
        return PgEndpoint.parse(pg.url, pg.role, flag, ca_file=found.ca_file, ca_from=found.ca_from,
                                hostname_can_match=found.hostname_can_match)
    log.warning("%s: %s", flag, found.why_not)
    return replace(pg, tls=pg_tls.still_unverified(pg.tls, found.why_not, f"--{pg.role}-sslrootcert")) if pg.tls else pg


def _pg_ca(flags: dict[str, Any], side: str, env: EnvConfig | None) -> tuple[Path | None, str]:
    """The CA that verifies this side's PostgreSQL: the option wins, then the environment's RDS bundle (aws)."""
    given = flags.get(f"{side}_sslrootcert")
    if given:
        return Path(given), f"--{side}-sslrootcert"
    if env is not None and env.cloud == "aws" and env.rds_ca_bundle is not None:
        return env.rds_ca_bundle, f"rds_ca_bundle of {env.name}"
    return None, ""


def _lookup(
    cache: dict[str, _CloudLookup], env: EnvConfig | None, side: str, outputs_reader: Any, store_factory: Any
) -> _CloudLookup:
    if env is None:
        raise ConfigError(f"No environment to look up the {side} endpoints in.", hint="Pass --env.")
    if side not in cache:
        cache[side] = _CloudLookup(env, side, outputs_reader, store_factory)
    return cache[side]


class _CloudLookup:
    def __init__(self, env: EnvConfig, side: str, outputs_reader: Any, store_factory: Any) -> None:
        self.env, self.side = env, side
        self._outputs_reader = outputs_reader or _terraform_outputs
        self._store_factory = store_factory
        self._outputs: dict[str, Any] | None = None

    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            try:
                self._outputs = self._outputs_reader(self.env) or {}
            except BillingOpsError as exc:
                raise ConfigError(
                    f"Could not read the {self.side} endpoints from the {self.env.cloud} terraform "
                    f"outputs of "
                    f"{self.env.name}: {exc.message}",
                    hint=f"Pass --{self.side}-postgres / --{self.side}-redis URLs explicitly (for "
                    f"example through "
                    f"a tunnel), or fix terraform access for {self.env.cloud} and retry.",
                ) from None
        return self._outputs

    def url(self, kind: str, flag: str) -> str:
        name = SECRET_FOR[kind]
        outputs = self.outputs()
        if kind == "postgres" and outputs.get(MASTER_SECRET_OUTPUT):
            return self._master_url(outputs, flag)
        if kind == "redis":
            from billingops.clouds import redis_operator_url

            signed = redis_operator_url(self.env, outputs)
            if signed:
                redact.register_url(signed)  # the token, as written in the URL and as sent in AUTH
                redact.register(unquote(urlsplit(signed).password or ""))
                log.info("%s redis endpoint: the cache's IAM-authenticated ops user, with a token signed now",
                         self.side)
                return signed
        secret_ids = outputs.get("secret_ids") or {}
        secret_id = secret_ids.get(name) if isinstance(secret_ids, dict) else None
        if not secret_id:
            raise ConfigError(
                f"The {self.env.cloud} terraform outputs of {self.env.name} have no secret id for {name}.",
                hint=f"Pass {flag} URL explicitly, or apply the {self.env.cloud} stack so "
                f"`secret_ids` has {name}.",
            )
        from billingops.clouds import secret_store

        store = (self._store_factory or secret_store)(self.env, outputs)
        found = store.read(secret_id)
        if not found:
            raise ConfigError(
                f"The {self.env.cloud} secret {name} ({secret_id}) has no value.",
                hint=f"Set it with `billingops secrets set`, or pass {flag} explicitly.",
            )
        value = found[1].strip()
        redact.register(value)
        redact.register_url(value)
        log.info("%s %s endpoint from the %s secret %s", self.side, kind, self.env.cloud, name)
        return value


    def _master_url(self, outputs: dict[str, Any], flag: str) -> str:
        """PostgreSQL as the master (the app role cannot read every table's owner data or write the ledger)."""
        from billingops.clouds import secret_store
        from billingops.clouds.secrets import url_from_secret

        secret_id = str(outputs[MASTER_SECRET_OUTPUT])
        found = (self._store_factory or secret_store)(self.env, outputs).read(secret_id)
        if not found:
            raise ConfigError(
                f"The {self.env.cloud} database master secret ({secret_id}) has no value.",
                hint=f"Apply the {self.env.cloud} stack (terraform writes it), or pass {flag} explicitly.",
            )
        log.info("%s postgres endpoint from the %s master secret", self.side, self.env.cloud)
        return url_from_secret(found[1], f"the {self.env.cloud} master secret {secret_id}")


def _terraform_outputs(env: EnvConfig) -> dict[str, Any]:
    from billingops.terraform.runner import Terraform

    return Terraform.for_env(env).outputs()
