"""Where the billingops deploy lock lives: beside the state, in the same store terraform locks it in.

Each store creates its record with a conditional write that only one of any number of racing runners can
win (DynamoDB attribute_not_exists, S3 If-None-Match, GCS if_generation_match=0, O_EXCL locally), and
reads/deletes it exactly like the matching state-lock store, so `locks` and `unlock` treat both alike.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any

from billingops.clouds.base import GCP_TIMEOUT, aws_errors, gcp_errors
from billingops.locks.gcs import GcsLockStore, _retry
from billingops.locks.local import LocalLockStore
from billingops.locks.model import HeldLock, LockChanged
from billingops.locks.s3_dynamodb import DynamoDBLockStore
from billingops.locks.s3_lockfile import S3LockfileStore

if TYPE_CHECKING:
    from billingops.locks.finder import LockTarget

log = logging.getLogger(__name__)

KIND = "deploy"
SUFFIX = "-billingops-deploy"


def _mark(held: HeldLock | None) -> HeldLock | None:
    """Tag a record as the deploy lock and expose its holder's pid/host/run for the liveness check."""
    if held is None:
        return None
    held.extra["kind"] = KIND
    if held.info is not None:
        try:
            details = json.loads(held.info.info or "{}")
        except ValueError:
            details = {}
        held.extra.update(
            holder_pid=details.get("pid"),
            holder_host=details.get("host"),
            run_id=details.get("run_id"),
            command=details.get("command"),
        )
    return held


class DynamoDBDeployStore(DynamoDBLockStore):
    store = "deploy-dynamodb"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = self.state + SUFFIX  # "<bucket>/<key>-billingops-deploy": never terraform's items

    def read(self) -> HeldLock | None:
        return _mark(super().read())

    def create(self, body: str) -> bool:
        from botocore.exceptions import ClientError

        # aws_errors outside the try: connection errors are BotoCoreErrors, not ClientErrors.
        with aws_errors(f"Taking the deploy lock {self.location}"):
            try:
                self._client.put_item(
                    TableName=self.table,
                    Item={"LockID": {"S": self.state}, "Info": {"S": body}},
                    ConditionExpression="attribute_not_exists(LockID)",
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return False
                raise
        return True


class S3DeployStore(S3LockfileStore):
    store = "deploy-s3"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key = f"{self.state_key}.billingops-deploy.lock"

    def read(self) -> HeldLock | None:
        return _mark(super().read())

    def create(self, body: str) -> bool:
        from botocore.exceptions import ClientError

        with aws_errors(f"Taking the deploy lock {self.location}"):
            try:
                self._client.put_object(Bucket=self.bucket, Key=self.key, Body=body.encode(), IfNoneMatch="*")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in (
                    "PreconditionFailed",
                    "412",
                    "ConditionalRequestConflict",
                ):
                    return False
                raise
        return True


class GcsDeployStore(GcsLockStore):
    store = "deploy-gcs"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        prefix = self.object_name.rpartition("/")[0]
        self.object_name = f"{prefix}/billingops-deploy.lock" if prefix else "billingops-deploy.lock"

    def read(self) -> HeldLock | None:
        held = super().read()
        if held is not None and held.info is not None:
            # the run's own id names a deploy lock; the generation stays the token for conditional deletes
            held.lock_id = held.extra.get("json_id") or held.lock_id
            held.info = held.info.with_id(held.lock_id)
        return _mark(held)

    def create(self, body: str) -> bool:
        from google.api_core import exceptions as gexc

        blob = self._client.bucket(self.bucket_name).blob(self.object_name)
        try:
            with gcp_errors(f"Taking the deploy lock {self.location}"):
                try:
                    blob.upload_from_string(
                        body,
                        content_type="application/json",
                        if_generation_match=0,
                        timeout=GCP_TIMEOUT,
                        retry=_retry(),
                    )
                except gexc.PreconditionFailed:
                    return False
        except Exception as exc:  # noqa: BLE001  # some transports wrap the 412 in their own error
            if "412" in str(exc) or "conditionNotMet" in str(exc):
                return False
            raise
        return True


class LocalDeployStore(LocalLockStore):
    store = "deploy-file"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.info_file = self.state_file.with_name(".billingops-deploy.lock")

    def read(self) -> HeldLock | None:
        held = super().read()
        if held is not None:
            held.extra.pop("fcntl_held", None)  # terraform's fcntl lock says nothing about billingops runs
        return _mark(held)

    def create(self, body: str) -> bool:
        # Write the record in full under a private name, then link it into place: link() fails if the lock
        # exists, and a racing reader never sees a created-but-still-empty lock file.
        self.info_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".billingops-deploy.", suffix=".tmp", dir=self.info_file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            try:
                os.link(tmp, self.info_file)
            except FileExistsError:
                return False
            return True
        finally:
            os.unlink(tmp)

    def delete(self, held: HeldLock) -> None:
        try:
            current = self.info_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LockChanged(f"{self.location} vanished before the delete") from None
        if current != held.token:
            raise LockChanged(f"{self.location} changed before the delete")
        self.info_file.unlink()


def for_target(target: LockTarget) -> Any:
    """The deploy-lock store beside `target`'s state: in the store terraform locks that state in."""
    env, config, ws = target.env, target.config, target.workspace
    if config.type == "s3":
        if config.get("dynamodb_table"):
            return DynamoDBDeployStore(env.name, config, ws, env.region)
        return S3DeployStore(env.name, config, ws, env.region)
    if config.type == "gcs":
        return GcsDeployStore(env.name, config, ws, env.gcp_project)
    return LocalDeployStore(env.name, config, ws, env.terraform_dir)
