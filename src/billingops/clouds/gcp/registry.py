"""Artifact Registry: does the image exist? Checked before anything changes, so a typo touches nothing.

Uses the Artifact Registry REST API (v1) directly: a tag is `.../packages/PKG/tags/TAG` (its `version` names the
digest), a digest is `.../packages/PKG/versions/sha256:...`. There is no google-cloud-artifact-registry in this
environment and two GETs do not justify one; the endpoint is configurable
([environments.<env>.gcp.endpoints] artifactregistry) so tests and private endpoints work.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from billingops.clouds.base import GCP_TIMEOUT, is_loopback_url
from billingops.config import EnvConfig
from billingops.errors import CloudError, ConfigError, UsageError
from billingops.imageref import ImageRef

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://artifactregistry.googleapis.com"
_AR_HOST = re.compile(r"(?P<location>[a-z0-9-]+)-docker\.pkg\.dev")


class ArtifactRegistry:
    def __init__(
        self, endpoint: str = DEFAULT_ENDPOINT, token: Any = None, timeout: float = GCP_TIMEOUT
    ) -> None:
        """`token`: a callable returning an OAuth access token, or None for an anonymous loopback emulator."""
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_env(cls, env: EnvConfig, outputs: Mapping[str, Any] | None = None) -> ArtifactRegistry:
        endpoint = env.gcp_endpoints.get("artifactregistry") or DEFAULT_ENDPOINT
        if endpoint.startswith("http://"):
            if not is_loopback_url(endpoint):
                raise ConfigError(
                    f"The artifactregistry endpoint {endpoint} uses plain http on a non-loopback host.",
                    hint="Use https, or an http endpoint on 127.0.0.1 (emulators and tunnels only).",
                )
            return cls(endpoint, None)
        return cls(endpoint, _default_token)

    def require(self, image: ImageRef) -> str:
        match = _AR_HOST.fullmatch(image.host)
        parts = image.path.split("/")
        if not match or len(parts) < 3:
            raise UsageError(
                f"The image {image} is not in Artifact Registry (LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE), "
                "so billingops cannot check that it exists before deploying it.",
                hint="Push the image to the environment's Artifact Registry repository and pass its tag.",
            )
        project, repository, package = parts[0], parts[1], "/".join(parts[2:])
        base = (
            f"{self.endpoint}/v1/projects/{project}/locations/{match['location']}/repositories/{repository}"
            f"/packages/{urllib.parse.quote(package, safe='')}"
        )
        if image.digest:
            self._get(f"{base}/versions/{image.digest}", image)
            return image.digest
        tag = self._get(f"{base}/tags/{urllib.parse.quote(image.tag or '', safe='')}", image)
        return str(tag.get("version", "")).rsplit("/", 1)[-1]

    def _get(self, url: str, image: ImageRef) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token()}"
        request = urllib.request.Request(url, headers=headers)  # noqa: S310  # https, or http on loopback only
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310  # config.py: http(s) only
                reply: dict[str, Any] = json.loads(response.read() or b"{}")
                return reply
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise UsageError(
                    f"The image {image} does not exist in Artifact Registry: nothing was changed.",
                    hint="Check the tag (`gcloud artifacts docker tags list` lists them), push the image, "
                    "then retry.",
                ) from None
            raise CloudError(
                f"Looking up {image} in Artifact Registry failed: HTTP {exc.code} {exc.reason}.",
                hint="Check the permissions (artifactregistry.reader) and the repository, then retry.",
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CloudError(
                f"Looking up {image} in Artifact Registry failed: {exc}.",
                hint="Check network access to the Artifact Registry endpoint and retry.",
            ) from None


def _default_token() -> str:
    import google.auth
    from google.auth import exceptions as auth_exc
    from google.auth.transport.requests import Request

    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        credentials.refresh(Request())  # type: ignore[no-untyped-call]  # google-auth leaves refresh() unannotated
    except auth_exc.GoogleAuthError as exc:
        raise CloudError(
            f"Getting Google Cloud credentials failed: {exc}.",
            hint="Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS.",
        ) from None
    token: str | None = credentials.token
    if not token:
        # Without this the registry would be asked with "Bearer None" and answer a puzzling 401.
        raise CloudError(
            "Getting Google Cloud credentials failed: the refreshed credentials carry no access token.",
            hint="Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS.",
        )
    return token
