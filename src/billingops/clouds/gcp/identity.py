"""The Google account behind application-default credentials, refreshed once so Google is known to answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billingops.clouds.base import gcp_errors
from billingops.clouds.identity import Identity

if TYPE_CHECKING:
    from billingops.config import EnvConfig


def caller_identity(env: EnvConfig) -> Identity:
    if env.gcp_endpoints:
        # Configured endpoints (emulators, tunnels on loopback) are used anonymously.
        scope = f"project {env.gcp_project}" if env.gcp_project else None
        return Identity("anonymous (configured gcp.endpoints)", scope, "billingops.toml")
    import google.auth
    import google.auth.transport.requests

    with gcp_errors("Google credentials",
                    hint="Run `gcloud auth application-default login` and check network access to Google."):
        credentials, project = google.auth.default()
        credentials.refresh(google.auth.transport.requests.Request())  # type: ignore[no-untyped-call]  # google-auth: unannotated
    principal = (getattr(credentials, "service_account_email", None) or getattr(credentials, "account", None)
                 or type(credentials).__name__)
    project = env.gcp_project or project
    return Identity(str(principal), f"project {project}" if project else None, "application-default")


def local_credentials(env: EnvConfig) -> Identity:
    """The application-default credentials, found without calling Google (the deploy preflight's quick check)."""
    import google.auth
    from google.auth import exceptions as auth_exc

    from billingops.errors import CloudError

    try:
        _, project = google.auth.default()
    except auth_exc.DefaultCredentialsError:
        if env.gcp_endpoints:
            return Identity("anonymous (configured gcp.endpoints)", None, "billingops.toml")
        raise CloudError("no Google Cloud application-default credentials",
                         hint="Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS.") \
            from None
    project = env.gcp_project or project
    return Identity("Google application-default credentials", f"project {project}" if project else None,
                    "application-default")
