"""What the S3 backend's two lock stores share: the state key per workspace, endpoints and clients."""

from __future__ import annotations

from typing import Any

from billingops import redact
from billingops.clouds.base import AWS_CONNECT_TIMEOUT, AWS_MAX_ATTEMPTS, AWS_READ_TIMEOUT
from billingops.errors import ConfigError
from billingops.locks.backend_config import DEFAULT_WORKSPACE, BackendConfig


def bucket_and_key(config: BackendConfig) -> tuple[str, str]:
    bucket, key = config.get("bucket"), config.get("key")
    if not bucket or not key:
        missing = " and ".join(k for k, v in (("bucket", bucket), ("key", key)) if not v)
        raise ConfigError(
            f"The S3 backend configuration has no {missing} ({', '.join(config.sources) or 'no source'}).",
            hint="Set it in envs/<env>.backend.hcl or pass --backend-config key=value.",
        )
    return str(bucket), str(key)


def state_key(config: BackendConfig, workspace: str) -> str:
    """Non-default workspaces live under `<workspace_key_prefix>/<workspace>/<key>` (prefix env: default)."""
    _, key = bucket_and_key(config)
    if workspace == DEFAULT_WORKSPACE:
        return key
    prefix = str(config.get("workspace_key_prefix", "env:"))
    return f"{prefix}/{workspace}/{key}"


def endpoint(config: BackendConfig, service: str) -> str | None:
    """The backend's own endpoint setting; None lets boto3 apply AWS_ENDPOINT_URL_<SVC> / AWS_ENDPOINT_URL."""
    endpoints = config.get("endpoints") or {}
    if isinstance(endpoints, dict) and endpoints.get(service):
        return str(endpoints[service])
    legacy = {"s3": "endpoint", "dynamodb": "dynamodb_endpoint"}[service]
    value = config.get(legacy)
    return str(value) if value else None


def client(config: BackendConfig, service: str, default_region: str) -> Any:
    """A boto3 client with the same bounded timeouts as clouds.base, honouring the backend's credentials."""
    import boto3
    from botocore.config import Config

    region = str(config.get("region", default_region))
    options: dict[str, Any] = {}
    if config.get("use_path_style") or config.get("force_path_style"):
        options["s3"] = {"addressing_style": "path"}
    botocfg = Config(
        region_name=region,
        connect_timeout=AWS_CONNECT_TIMEOUT,
        read_timeout=AWS_READ_TIMEOUT,
        retries={"max_attempts": AWS_MAX_ATTEMPTS, "mode": "standard"},
        **options,
    )
    session_args: dict[str, Any] = {}
    if config.get("profile"):
        session_args["profile_name"] = str(config.get("profile"))
    access, secret = config.get("access_key"), config.get("secret_key")
    if access and secret:
        redact.register(str(secret))
        session_args.update(aws_access_key_id=str(access), aws_secret_access_key=str(secret))
        if config.get("token"):
            redact.register(str(config.get("token")))
            session_args["aws_session_token"] = str(config.get("token"))
    try:
        session = boto3.session.Session(**session_args)
    except Exception as exc:  # noqa: BLE001  # botocore raises ProfileNotFound and friends for a bad profile
        raise ConfigError(
            f"Cannot build an AWS session for the state backend: {exc}.",
            hint="Check the backend's profile setting and ~/.aws/config.",
        ) from None
    return session.client(service, config=botocfg, endpoint_url=endpoint(config, service))
