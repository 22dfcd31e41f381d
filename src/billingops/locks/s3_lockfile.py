"""Terraform's S3 native lock (use_lockfile = true, terraform >= 1.10): the object `<state key>.tflock`."""

from __future__ import annotations

import logging
from typing import Any

from billingops.clouds.base import aws_errors
from billingops.locks import s3_common
from billingops.locks.backend_config import BackendConfig
from billingops.locks.model import HeldLock, LockChanged, LockInfo, MalformedLock

log = logging.getLogger(__name__)

_MISSING = ("NoSuchKey", "404", "NotFound")


class S3LockfileStore:
    store = "s3-lockfile"

    def __init__(self, env_name: str, config: BackendConfig, workspace: str, region: str, client: Any = None) -> None:
        self.env_name = env_name
        self.bucket, _ = s3_common.bucket_and_key(config)
        self.state_key = s3_common.state_key(config, workspace)
        self.key = f"{self.state_key}.tflock"
        self.workspace = workspace
        self._client = client or s3_common.client(config, "s3", region)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def read(self) -> HeldLock | None:
        from botocore.exceptions import ClientError

        with aws_errors(
            f"Reading the lock file {self.location}",
            hint="Check the endpoint (AWS_ENDPOINT_URL_S3 / the backend's endpoints), the bucket "
            "and your credentials, then retry.",
        ):
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=self.key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _MISSING:
                    return None
                raise
            body = response["Body"].read()
        held = HeldLock(
            env=self.env_name,
            backend="s3",
            store=self.store,
            location=self.location,
            state=f"{self.bucket}/{self.state_key}",
            workspace=self.workspace,
            lock_id="",
            info=None,
            token=str(response.get("ETag", "")),
        )
        try:
            held.info = LockInfo.from_json(body)
            held.lock_id = held.info.id
        except MalformedLock as exc:
            held.malformed = f"the object is {exc}"
        return held

    def delete(self, held: HeldLock) -> None:
        """Delete only the object version that was shown: compare the ETag, then delete with If-Match."""
        from botocore.exceptions import ClientError

        current = self.read()
        if current is None or current.token != held.token:
            raise LockChanged(f"{self.location} changed or vanished before the delete")
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=held.token)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise LockChanged(f"{self.location} was re-written just before the delete") from None
            with aws_errors(f"Deleting the lock file {self.location}"):
                raise
        log.info("deleted %s", self.location)
