"""Preflight checks from the seed's pre-deployment checklist, the ones a machine can check.

Used by `billingops doctor` (a table) and by the deploy's preflight step (fails on any "fail" row).
Each check returns ok / warn / fail with the fix to apply. Credentials are resolved, never printed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from billingops.config import ENV_PROFILES, EnvConfig
from billingops.errors import BillingOpsError, ConfigError

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "warn", "fail"
PROFILE_KEYS = ("multi_az", "backup_retention_days", "deletion_protection", "min_capacity", "max_capacity")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""
    checked: bool = True  # False: the check could not be made (why in `detail`); never an all-clear


def read_tfvars(path: Path) -> dict[str, Any]:
    from billingops.terraform import hcl

    return hcl.load_file(path)


def check_terraform() -> Check:
    from billingops.terraform.binary import MIN_VERSION, find_terraform, terraform_version

    try:
        version = terraform_version(find_terraform())
    except BillingOpsError as err:
        return Check("terraform", FAIL, err.message, "Install Terraform >= 1.11 and put it on PATH.")
    text = ".".join(map(str, version))
    if version < MIN_VERSION:
        return Check("terraform", FAIL, f"terraform {text} is older than 1.11", "Upgrade terraform to >= 1.11.")
    return Check("terraform", OK, f"terraform {text}")


def check_tfvars(env: EnvConfig) -> Check:
    path = env.tfvars_path
    if not path.is_file():
        return Check("tfvars", FAIL, f"{path} is missing", f"Create {path.name} in {path.parent}.")
    try:
        values = read_tfvars(path)
    except ConfigError as err:
        return Check("tfvars", FAIL, err.message, err.hint)
    if values.get("environment") not in (None, env.name):
        return Check("tfvars", FAIL, f"{path.name} sets environment = {values.get('environment')!r}",
                     f"Set environment = \"{env.name}\" in {path}.")
    expected = {k: getattr(env, k) for k in PROFILE_KEYS}
    differ = [f"{k} = {values[k]!r} (config: {expected[k]!r})" for k in PROFILE_KEYS
              if k in values and values[k] != expected[k]]
    seed = ENV_PROFILES[env.name]
    if differ:
        return Check("tfvars", WARN, f"{path.name} differs from the environment profile: " + "; ".join(differ),
                     f"Align {path.name} with billingops.toml (seed profile for {env.name}: {seed}).")
    return Check("tfvars", OK, f"{path.name}: {len(values)} variables, profile matches")


def check_backend(env: EnvConfig, sandbox: Any = None) -> Check:
    if sandbox is not None:
        return Check("backend config", OK, f"sandbox S3 backend on {sandbox.moto_url}")
    from billingops.locks.backend_config import load_backend_config

    if not env.backend_config_path.is_file():
        return Check("backend config", FAIL, f"{env.backend_config_path} is missing",
                     f"Create {env.backend_config_path.name} (bucket, key/prefix, region).")
    try:
        backend = load_backend_config(env)
    except ConfigError as err:
        return Check("backend config", FAIL, err.message, err.hint)
    required = {"s3": ("bucket", "key", "region"), "gcs": ("bucket",), "local": ()}[backend.type]
    missing = [key for key in required if not backend.get(key)]
    if missing:
        return Check("backend config", FAIL, f"{backend.type} backend lacks {', '.join(missing)}",
                     f"Add {', '.join(missing)} to {env.backend_config_path}.")
    where = backend.get("bucket", backend.get("path", "terraform.tfstate"))
    locking = ""
    if backend.type == "s3":
        parts = [p for p, on in (("DynamoDB", backend.get("dynamodb_table")),
                                 ("lockfile", backend.get("use_lockfile"))) if on]
        locking = f", locking: {' + '.join(parts) or 'NONE'}"
        if not parts:
            return Check("backend config", WARN, f"s3://{where} has no state locking",
                         "Set use_lockfile = true (or dynamodb_table) in the backend config.")
    return Check("backend config", OK, f"{backend.type} backend {where}{locking}")


def check_initialised(env: EnvConfig, sandbox: Any = None) -> Check:
    """Whether this machine has initialised the environment's terraform data folder (billingops keeps one per
    environment and initialises it when a command first needs it)."""
    data_dir = env.state_dir / "terraform" / f"{env.cloud}-{env.name}"
    if sandbox is not None or (data_dir / "terraform.tfstate").is_file():
        return Check("terraform init", OK, f"initialised in {data_dir}")
    return Check("terraform init", WARN, f"not initialised on this machine yet ({data_dir})",
                 "Nothing to do: the first command that reads the state initialises it (or run "
                 f"`billingops plan --env {env.name}`).")


def check_credentials(env: EnvConfig, *, ask_cloud: bool = True) -> Check:
    """Who the cloud says we are; a cloud that cannot be reached fails the check (it does not warn).

    Without `ask_cloud` (the deploy's preflight: terraform asks the cloud a moment later) only the local
    credentials are looked up."""
    from billingops.clouds import caller_identity
    from billingops.errors import BillingOpsError

    try:
        who = caller_identity(env, ask_cloud=ask_cloud)
    except BillingOpsError as err:
        # Failed, not a warning: nothing else can work. Unchecked too: the cloud did not answer.
        return Check("credentials", FAIL, err.message, err.hint, checked=not ask_cloud)
    scope = f" in {who.scope}" if who.scope else ""
    return Check("credentials", OK, f"{who.principal}{scope} (credentials from {who.source}; not shown)")


def check_dns(env: EnvConfig) -> Check:
    try:
        values = read_tfvars(env.tfvars_path) if env.tfvars_path.is_file() else {}
    except ConfigError:
        values = {}
    domain = env.domain_name or values.get("domain_name")
    if not domain:
        return Check("dns/certificate", WARN, "no domain_name set: the HTTPS certificate cannot be issued",
                     f"Set domain_name in {env.tfvars_path.name}, and point DNS at the load balancer after apply.")
    cert = "ACM certificate (DNS validation)" if env.cloud == "aws" else "Google-managed certificate"
    return Check("dns/certificate", OK, f"{domain} with {cert}")


def check_state_lock(env: EnvConfig, sandbox: Any = None, own_run_id: str | None = None) -> Check:
    """No terraform state lock and no other run's billingops deploy lock may be held."""
    if sandbox is not None:
        return Check("state lock", OK, "sandbox state (checked by terraform itself)")
    try:
        from billingops.locks.finder import find_locks

        held = [lock for lock in find_locks(env, runs_dir=env.state_dir / "runs")
                if not (own_run_id and lock.lock_id == own_run_id)]
    except BillingOpsError as err:
        return Check("state lock", WARN, f"could not check: {err.message}", err.hint, checked=False)
    if not held:
        return Check("state lock", OK, "no state lock or deploy lock held")
    lock = held[0]
    kind = "billingops deploy lock" if lock.extra.get("kind") == "deploy" else "terraform state lock"
    who = lock.info.who if lock.info else "an unreadable record"
    flag = " --deploy-lock" if kind.startswith("billingops") else ""
    return Check("state lock", FAIL, f"{kind} held by {who} ({lock.location})",
                 f"Check the holder (`billingops locks --env {env.name}`), then "
                 f"`billingops unlock --env {env.name}{flag}` if it is gone.")


def check_image(env: EnvConfig, image: str | None, outputs: Callable[[], dict[str, Any]]) -> Check:
    if not image:
        return Check("image", OK, "no --image given: the running image is kept")
    try:
        from billingops.clouds import image_registry
        from billingops.clouds.rollout import default_repository
        from billingops.imageref import parse_image

        values = outputs()
        ref = parse_image(image, default_repository(env, values))
        digest = image_registry(env, values).require(ref)
    except BillingOpsError as err:
        return Check("image", FAIL, err.message, err.hint)
    return Check("image", OK, f"{image} is in the registry ({digest[:19]})")


def check_drift_age(env: EnvConfig, settings: Any) -> Check:
    try:
        from billingops.terraform.drift import last_drift_check
    except ImportError:
        return Check("drift check", WARN, "drift checks are not available", "")
    try:
        last = last_drift_check(settings, env.name, env.cloud)
    except BillingOpsError as err:
        return Check("drift check", WARN, f"could not read the last drift check: {err.message}", err.hint,
                     checked=False)
    if last is None:
        return Check("drift check", WARN, "no drift check on record",
                     f"Run `billingops drift --env {env.name}` (daily, from a scheduled job).")
    age = datetime.now(UTC) - (last if last.tzinfo else last.replace(tzinfo=UTC))
    if age > timedelta(days=1):
        return Check("drift check", WARN, f"last drift check {age.days}d ago",
                     f"Run `billingops drift --env {env.name}`.")
    return Check("drift check", OK, f"last drift check {int(age.total_seconds() // 3600)}h ago")


def check_secrets(env: EnvConfig, sandbox: Any = None,
                  outputs: Callable[[], dict[str, Any]] | None = None) -> Check:
    """Required input secrets must have a version already, or a value waiting for the secrets step."""
    if sandbox is not None:
        return Check("secrets", OK, "sandbox: input secrets without a value get generated placeholders")
    values: dict[str, Any] = {}
    if outputs is not None:
        try:
            values = outputs()
        except BillingOpsError as err:
            log.debug("no terraform outputs yet (%s): secrets checked from the environment only", err.message)
    if values.get("secret_ids"):
        from billingops.services.secrets.inventory import preflight_problems

        try:
            missing = preflight_problems(env, values)
        except BillingOpsError as err:
            return Check("secrets", WARN, f"could not read the secret store: {err.message}", err.hint,
                         checked=False)
        if missing:
            return Check("secrets", FAIL, "required secrets with no version and no value to seed: "
                         + ", ".join(missing),
                         "Set BILLINGOPS_SECRET_<NAME>, or run `billingops secrets seed --env "
                         f"{env.name} --file FILE` first.")
        return Check("secrets", OK, "every required secret has a version or a value to seed")
    waiting = [s.name for s in env.secrets
               if s.source == "input" and s.required and not s.generate and not os.environ.get(s.env_var)]
    if waiting:
        return Check("secrets", WARN, f"not deployed yet, and no value in the environment for {', '.join(waiting)}",
                     "Set BILLINGOPS_SECRET_<NAME> before the deploy reaches its secrets step.")
    return Check("secrets", OK, "every input secret has a value to seed")


def run_checks(env: EnvConfig, settings: Any, *, image: str | None = None, sandbox: Any = None, ask_cloud: bool = False,
               outputs: Callable[[], dict[str, Any]] | None = None, own_run_id: str | None = None) -> list[Check]:
    checks = [check_terraform(), check_tfvars(env), check_backend(env, sandbox),
              *([check_initialised(env, sandbox)] if ask_cloud else []),
              check_credentials(env, ask_cloud=ask_cloud),
              check_dns(env), check_state_lock(env, sandbox, own_run_id), check_secrets(env, sandbox, outputs)]
    if image and outputs is not None:
        checks.append(check_image(env, image, outputs))
    if sandbox is None:
        checks.append(check_drift_age(env, settings))
    return checks
