"""Where the billingops deploy lock lives: beside the state, in the same store terraform locks it in.

Each store creates its record with a conditional write that only one of any number of racing runners can
win (DynamoDB attribute_not_exists, S3 If-None-Match, GCS if_generation_match=0, O_EXCL locally), and
reads/deletes it exactly like the matching state-lock store, so `locks` and `unlock` treat both alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.clouds.base import GCP_TIMEOUT, aws_errors, gcp_errors
from billingops.locks.gcs import GcsLockStore, _retry
from billingops.locks.local import LocalLockStore
from billingops.locks.model import HeldLock, LockChanged, LockInfo, MalformedLock
from billingops.locks.s3_dynamodb import DynamoDBLockStore
from billingops.locks.s3_lockfile import S3LockfileStore

if TYPE_CHECKING:
    from billingops.locks.finder import LockTarget

log = logging.getLogger(__name__)

KIND = "deploy"
SUFFIX = "-billingops-deploy"
RENEWING = ".billingops-deploy.renew."  # + the renewing holder's pid: a local record set aside for a moment


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
            heartbeat=details.get("heartbeat"),
            heartbeat_every=details.get("heartbeat_every"),
            machine_id=details.get("machine_id"),
        )
    return held


def _renewed(held: HeldLock, token: str) -> HeldLock:
    return dataclasses.replace(held, token=token, extra=dict(held.extra))


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


    def replace(self, held: HeldLock, body: str) -> HeldLock:
        """Rewrite the record (the heartbeat) only if it is still exactly the one this holder wrote."""
        from botocore.exceptions import ClientError

        with aws_errors(f"Renewing the deploy lock {self.location}"):
            try:
                self._client.put_item(
                    TableName=self.table,
                    Item={"LockID": {"S": self.state}, "Info": {"S": body}},
                    ConditionExpression="Info = :info",
                    ExpressionAttributeValues={":info": {"S": held.token}},
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    raise LockChanged(f"{self.location} was broken or re-taken") from None
                raise
        return _renewed(held, body)


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


    def replace(self, held: HeldLock, body: str) -> HeldLock:
        from botocore.exceptions import ClientError

        with aws_errors(f"Renewing the deploy lock {self.location}"):
            try:
                response = self._client.put_object(Bucket=self.bucket, Key=self.key, Body=body.encode(),
                                                   IfMatch=held.token)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", "NoSuchKey",
                                                                 "ConditionalRequestConflict"):
                    raise LockChanged(f"{self.location} was broken or re-taken") from None
                raise
        return _renewed(held, str(response.get("ETag", "")))


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


    def replace(self, held: HeldLock, body: str) -> HeldLock:
        from google.api_core import exceptions as gexc

        blob = self._client.bucket(self.bucket_name).blob(self.object_name)
        try:
            with gcp_errors(f"Renewing the deploy lock {self.location}"):
                try:
                    blob.upload_from_string(body, content_type="application/json",
                                            if_generation_match=int(held.token), timeout=GCP_TIMEOUT,
                                            retry=_retry())
                except (gexc.PreconditionFailed, gexc.NotFound):
                    raise LockChanged(f"{self.location} was broken or re-taken") from None
        except LockChanged:
            raise
        except Exception as exc:  # noqa: BLE001  # some transports wrap the 412 in their own error
            if "412" in str(exc) or "conditionNotMet" in str(exc):
                raise LockChanged(f"{self.location} was broken or re-taken") from None
            raise
        return _renewed(held, str(blob.generation))


class LocalDeployStore(LocalLockStore):
    store = "deploy-file"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.info_file = self.state_file.with_name(".billingops-deploy.lock")

    def read(self) -> HeldLock | None:
        held = super().read()
        if held is None:
            held = self._read_aside()
        if held is None:
            # Nothing in place, nothing aside: a renewal may have finished between the two looks (it removes
            # the aside only once the new record is in place), so look in place once more before saying "free".
            held = super().read()
        if held is not None:
            held.extra.pop("fcntl_held", None)  # terraform's fcntl lock says nothing about billingops runs
        return _mark(held)

    def _asides(self) -> list[Path]:
        return sorted(self.info_file.parent.glob(f"{RENEWING}*"))

    def _read_aside(self) -> HeldLock | None:
        """A renewal moves the record aside for a moment: a holder frozen or killed right then still holds
        the lock, so the record set aside is read as the lock (under the lock's own name)."""
        for aside in self._asides():
            try:
                raw = aside.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            held = HeldLock(env=self.env_name, backend="local", store=self.store, location=self.location,
                            state=str(self.state_file), workspace=self.workspace, lock_id="", info=None, token=raw)
            try:
                held.info = LockInfo.from_json(raw)
                held.lock_id = held.info.id
            except MalformedLock as exc:
                held.malformed = f"the file is {exc}"
            return held
        return None

    def create(self, body: str) -> bool:
        self.info_file.parent.mkdir(parents=True, exist_ok=True)
        return self._link_new(body)

    def _link_new(self, body: str) -> bool:
        """Write the record in full under a private name, then link it into place: link() fails if the lock
        exists (False), and a racing reader never sees a created-but-still-empty lock file."""
        with self._written(body) as tmp:
            try:
                os.link(tmp, self.info_file)
            except FileExistsError:
                return False
            return True

    @contextlib.contextmanager
    def _written(self, body: str) -> Iterator[Path]:
        """`body` in a private file beside the lock, on disk (fsync) before anyone can see it; removed after."""
        fd, tmp = tempfile.mkstemp(prefix=".billingops-deploy.", suffix=".tmp", dir=self.info_file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            yield Path(tmp)
        finally:
            os.unlink(tmp)

    def delete(self, held: HeldLock) -> None:
        for path in (self.info_file, *self._asides()):
            try:
                current = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            if current != held.token:
                raise LockChanged(f"{self.location} changed before the delete")
            path.unlink()
            return
        raise LockChanged(f"{self.location} vanished before the delete")

    def replace(self, held: HeldLock, body: str) -> HeldLock:
        """Compare-and-swap without ever overwriting another holder's file: move the record aside (atomic),
        check it is ours, then link the new record into place (fails if someone took the lock meanwhile).

        The new record is written and synced first, so the record is aside only for a read and a link; while
        it is, readers take the record aside for the lock (`read`), and `unlock` can still break it."""
        aside = self.info_file.with_name(f"{RENEWING}{os.getpid()}")
        with self._written(body) as new:
            try:
                os.rename(self.info_file, aside)
            except FileNotFoundError:
                raise LockChanged(f"{self.location} was deleted (the lock was broken)") from None
            try:
                try:
                    current = aside.read_text(encoding="utf-8")
                except FileNotFoundError:
                    raise LockChanged(f"{self.location} was broken during the renewal") from None
                if current != held.token:
                    with contextlib.suppress(FileExistsError):
                        os.link(aside, self.info_file)  # not ours: put it back untouched
                    raise LockChanged(f"{self.location} now belongs to another run")
                try:
                    os.link(new, self.info_file)
                except FileExistsError:
                    raise LockChanged(f"{self.location} was taken by another run during the renewal") from None
            finally:
                aside.unlink(missing_ok=True)
        return _renewed(held, body)

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
