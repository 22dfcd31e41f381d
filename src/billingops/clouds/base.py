"""Shared plumbing for the cloud adapters: SDK clients with timeouts and retries, and error translation.

Every external call has a timeout: botocore gets connect/read timeouts and bounded standard-mode retries;
Google clients get `timeout=` per call from `GCP_TIMEOUT` and a bounded Retry.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from billingops.config import EnvConfig
from billingops.errors import CloudError, ConfigError

log = logging.getLogger(__name__)

AWS_CONNECT_TIMEOUT = 5
AWS_READ_TIMEOUT = 30
AWS_MAX_ATTEMPTS = 4
GCP_TIMEOUT = 30.0


def aws_client(service: str, region: str, *, endpoint_url: str | None = None) -> Any:
    """A boto3 client with bounded timeouts and retries; endpoints come from AWS_ENDPOINT_URL[_<SVC>]."""
    import boto3
    from botocore.config import Config

    for name, url in [("endpoint_url", endpoint_url), *sorted(os.environ.items())]:
        if url and (name == "endpoint_url" or name.startswith("AWS_ENDPOINT_URL")):
            require_safe_endpoint(url, name)
    config = Config(
        region_name=region,
        connect_timeout=AWS_CONNECT_TIMEOUT,
        read_timeout=AWS_READ_TIMEOUT,
        retries={"max_attempts": AWS_MAX_ATTEMPTS, "mode": "standard"},
    )
    return boto3.session.Session().client(service, config=config, endpoint_url=endpoint_url)


@contextlib.contextmanager
def aws_errors(action: str, *, hint: str = "") -> Iterator[None]:
    """Translate botocore errors into CloudError with what failed, why, and what to do next."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise CloudError(
            f"{action} failed: no AWS credentials were found.",
            hint="Configure credentials (aws configure, AWS_PROFILE or an SSO login) and retry.",
        ) from None
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise CloudError(
            f"{action} failed: {err.get('Code', 'error')}: {err.get('Message', str(exc))}.",
            hint=hint or "Check the permissions and the resource names, then retry.",
            details={"aws_error_code": err.get("Code")},
        ) from None
    except BotoCoreError as exc:
        raise CloudError(f"{action} failed: {exc}.", hint=hint or "Check network access and the endpoint.") from None


def gcp_client_kwargs(env: EnvConfig, api: str) -> dict[str, Any]:
    """client kwargs for a google-cloud-* client: REST transport, and the configured endpoint if any.

    None of the Google clients reads an endpoint from the environment, so billingops has its own setting
    ([environments.<env>.gcp.endpoints] <api> = "http://127.0.0.1:PORT"). A plain-http endpoint must be on
    loopback (an emulator or a tunnel) and gets anonymous credentials.
    """
    kwargs: dict[str, Any] = {"transport": "rest"}
    endpoint = env.gcp_endpoints.get(api)
    if endpoint:
        from google.api_core.client_options import ClientOptions

        kwargs["client_options"] = ClientOptions(api_endpoint=endpoint)
        if endpoint.startswith("http://"):
            if not is_loopback_url(endpoint):
                raise ConfigError(
                    f"The {api} endpoint {endpoint} uses plain http on a non-loopback host.",
                    hint="Use https, or an http endpoint on 127.0.0.1 (emulators and tunnels only).",
                )
            from google.auth.credentials import AnonymousCredentials

            kwargs["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]  # google-auth: unannotated
    return kwargs


@contextlib.contextmanager
def gcp_errors(action: str, *, hint: str = "") -> Iterator[None]:
    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    try:
        yield
    except auth_exc.DefaultCredentialsError:
        raise CloudError(
            f"{action} failed: no Google Cloud credentials were found.",
            hint="Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS, then retry.",
        ) from None
    except gexc.GoogleAPICallError as exc:
        raise CloudError(
            f"{action} failed: {exc.code} {getattr(exc, 'message', str(exc))}.",
            hint=hint or "Check the project, region, permissions and resource names, then retry.",
        ) from None
    except gexc.RetryError as exc:
        raise CloudError(f"{action} timed out: {exc}.", hint=hint or "Check network access and retry.") from None
    except (requests.exceptions.RequestException, auth_exc.TransportError) as exc:
        # REST transport: a hung or unreachable endpoint surfaces as a requests error, not an API error.
        raise CloudError(
            f"{action} failed: the Google API endpoint did not answer ({type(exc).__name__}: {exc}).",
            hint=hint or "Check network access to the endpoint (and any configured gcp.endpoints), then retry.",
        ) from None


def require_safe_endpoint(url: str, name: str) -> None:
    """Credentials travel to the endpoint: plain http is for emulators and tunnels on loopback only."""
    if url.strip().lower().startswith("http://") and not is_loopback_url(url):
        raise ConfigError(
            f"{name}={url} sends cloud credentials over plain http to a host that is not this machine.",
            hint=f"Use an https endpoint, or unset {name}; plain http is accepted on 127.0.0.1/localhost only.",
        )


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
