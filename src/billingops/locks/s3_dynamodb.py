"""Terraform's DynamoDB lock: item LockID = "<bucket>/<state key>" whose Info attribute is the lock JSON.

The "<bucket>/<state key>-md5" item in the same table is the state digest, not a lock: it is never read
as a lock and never deleted.
"""

from __future__ import annotations

import logging
from typing import Any

from billingops.clouds.base import aws_errors
from billingops.locks import s3_common
from billingops.locks.backend_config import BackendConfig
from billingops.locks.model import HeldLock, LockChanged, LockInfo, MalformedLock

log = logging.getLogger(__name__)


class DynamoDBLockStore:
    store = "dynamodb"

    def __init__(self, env_name: str, config: BackendConfig, workspace: str, region: str, client: Any = None) -> None:
        self.env_name = env_name
        self.table = str(config.get("dynamodb_table"))
        bucket, _ = s3_common.bucket_and_key(config)
        self.state = f"{bucket}/{s3_common.state_key(config, workspace)}"
        self.workspace = workspace
        self._client = client or s3_common.client(config, "dynamodb", region)

    @property
    def location(self) -> str:
        return f"dynamodb://{self.table}/{self.state}"

    def read(self) -> HeldLock | None:
        with aws_errors(
            f"Reading the lock item {self.state!r} from DynamoDB table {self.table}",
            hint="Check the endpoint (AWS_ENDPOINT_URL_DYNAMODB / the backend's endpoints), "
            "the table name and your credentials, then retry.",
        ):
            item = self._client.get_item(
                TableName=self.table, Key={"LockID": {"S": self.state}}, ConsistentRead=True
            ).get("Item")
        if not item:
            return None
        raw = item.get("Info", {}).get("S")
        held = HeldLock(
            env=self.env_name,
            backend="s3",
            store=self.store,
            location=self.location,
            state=self.state,
            workspace=self.workspace,
            lock_id="",
            info=None,
            token=raw or "",
        )
        if raw is None:
            held.malformed = "the item has no string Info attribute"
            return held
        try:
            held.info = LockInfo.from_json(raw)
            held.lock_id = held.info.id
        except MalformedLock as exc:
            held.malformed = f"its Info attribute is {exc}"
        return held

    def delete(self, held: HeldLock) -> None:
        """Delete the item only if Info is still exactly what was shown to the engineer."""
        from botocore.exceptions import ClientError

        try:
            with_condition = dict(
                ConditionExpression="Info = :info", ExpressionAttributeValues={":info": {"S": held.token}}
            )
            self._client.delete_item(TableName=self.table, Key={"LockID": {"S": self.state}}, **with_condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise LockChanged(f"{self.location} changed or vanished before the delete") from None
            with aws_errors(f"Deleting the lock item {self.state!r} from {self.table}"):
                raise
        log.info("deleted %s", self.location)
