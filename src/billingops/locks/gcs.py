"""Terraform's GCS lock: the object `<prefix>/<workspace>.tflock`; its generation is the lock id.

Terraform creates it with if_generation_match=0 and releases it with if_generation_match=<id>, so a
delete conditioned on the generation can never remove a lock taken after it was read. Some emulators
ignore preconditions on delete, so the generation is also re-read right before deleting.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from billingops.clouds.base import GCP_TIMEOUT, gcp_errors, require_safe_endpoint
from billingops.errors import CloudError, ConfigError
from billingops.locks.backend_config import BackendConfig
from billingops.locks.model import HeldLock, LockChanged, LockInfo, MalformedLock

log = logging.getLogger(__name__)

# The library's default retry keeps trying an unreachable endpoint for two minutes; an engineer waiting on
# an unlock needs the "cannot reach the bucket" answer sooner.
RETRY_SECONDS = 15.0


def _retry() -> Any:
    from google.cloud.storage.retry import DEFAULT_RETRY

    return (
        DEFAULT_RETRY.with_timeout(RETRY_SECONDS)
        if hasattr(DEFAULT_RETRY, "with_timeout")
        else DEFAULT_RETRY.with_deadline(RETRY_SECONDS)
    )


def storage_client(config: BackendConfig, project: str | None) -> Any:
    from google.cloud import storage

    kwargs: dict[str, Any] = {"project": project or os.environ.get("GOOGLE_CLOUD_PROJECT") or "billingops"}
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator:
        # google-cloud-storage needs the scheme; terraform's Go client accepts a bare host:port.
        url = emulator if emulator.startswith(("http://", "https://")) else f"http://{emulator}"
        require_safe_endpoint(url, "STORAGE_EMULATOR_HOST")  # plain http: loopback only
        from google.auth.credentials import AnonymousCredentials

        kwargs.update(client_options={"api_endpoint": url}, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]  # google-auth is untyped
    elif config.get("access_token"):
        from google.oauth2.credentials import Credentials

        kwargs["credentials"] = Credentials(token=str(config.get("access_token")))  # type: ignore[no-untyped-call]  # google-auth is untyped
    elif config.get("credentials"):
        kwargs["credentials"] = _service_account(str(config.get("credentials")))
    with gcp_errors("Creating the Cloud Storage client for the state bucket"):
        return storage.Client(**kwargs)


def _service_account(value: str) -> Any:
    import json

    from google.oauth2 import service_account

    scopes = ["https://www.googleapis.com/auth/devstorage.read_write"]
    try:
        if value.lstrip().startswith("{"):
            return service_account.Credentials.from_service_account_info(json.loads(value), scopes=scopes)  # type: ignore[no-untyped-call]  # untyped
        return service_account.Credentials.from_service_account_file(os.path.expanduser(value), scopes=scopes)  # type: ignore[no-untyped-call]  # untyped
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"The GCS backend's credentials setting cannot be used: {exc}.",
            hint="Point it at a service-account key file, or drop it to use application-default credentials.",
        ) from None


class GcsLockStore:
    store = "gcs"

    def __init__(
        self, env_name: str, config: BackendConfig, workspace: str, project: str | None, client: Any = None
    ) -> None:
        self.env_name = env_name
        self.bucket_name = str(config.get("bucket") or "")
        if not self.bucket_name:
            raise ConfigError(
                f"The GCS backend configuration has no bucket ({', '.join(config.sources) or 'no source'}).",
                hint="Set bucket in envs/<env>.backend.hcl or pass --backend-config bucket=NAME.",
            )
        prefix = str(config.get("prefix", "")).strip("/")
        self.state = f"{prefix}/{workspace}.tfstate" if prefix else f"{workspace}.tfstate"
        self.object_name = f"{prefix}/{workspace}.tflock" if prefix else f"{workspace}.tflock"
        self.workspace = workspace
        self._client = client or storage_client(config, project)

    @property
    def location(self) -> str:
        return f"gs://{self.bucket_name}/{self.object_name}"

    def _blob(self) -> Any:
        with gcp_errors(
            f"Reading the lock object {self.location}",
            hint="Check STORAGE_EMULATOR_HOST or your credentials, and the bucket name, then retry.",
        ):
            return self._client.bucket(self.bucket_name).get_blob(self.object_name, timeout=GCP_TIMEOUT, retry=_retry())

    def read(self) -> HeldLock | None:
        from google.api_core import exceptions as gexc

        for _ in range(3):  # the object may be replaced between reading its generation and its content
            blob = self._blob()
            if blob is None:
                return None
            generation = str(blob.generation)
            try:
                with gcp_errors(f"Downloading the lock object {self.location}"):
                    body = blob.download_as_bytes(
                        if_generation_match=blob.generation, timeout=GCP_TIMEOUT, retry=_retry()
                    )
            except Exception as exc:  # noqa: BLE001  # NotFound/PreconditionFailed arrive wrapped or bare
                cause = exc.__cause__ or exc.__context__ or exc
                if isinstance(cause, gexc.NotFound | gexc.PreconditionFailed):
                    continue
                raise
            held = HeldLock(
                env=self.env_name,
                backend="gcs",
                store=self.store,
                location=self.location,
                state=f"{self.bucket_name}/{self.state}",
                workspace=self.workspace,
                lock_id=generation,
                info=None,
                token=generation,
            )
            try:
                # terraform names the generation as the lock id, not the ID inside the JSON
                info = LockInfo.from_json(body)
                held.info = info.with_id(generation)
                held.extra["json_id"] = info.id
            except MalformedLock as exc:
                held.malformed = f"the object is {exc}"
            return held
        raise CloudError(
            f"The lock object {self.location} changed three times while being read.",
            hint="Terraform is taking and releasing it right now: a holder is live. Retry later.",
        )

    def delete(self, held: HeldLock) -> None:
        from google.api_core import exceptions as gexc

        blob = self._blob()
        if blob is None or str(blob.generation) != held.token:
            raise LockChanged(f"{self.location} changed or vanished before the delete")
        try:
            blob.delete(if_generation_match=int(held.token), timeout=GCP_TIMEOUT, retry=_retry())
        except (gexc.PreconditionFailed, gexc.NotFound):
            raise LockChanged(f"{self.location} was re-taken just before the delete") from None
        except gexc.GoogleAPICallError:
            with gcp_errors(f"Deleting the lock object {self.location}"):
                raise
        log.info("deleted %s generation %s", self.location, held.token)
