"""Breaking a lock safely: pick the records, check every refusal rule, re-read, delete conditionally.

No terminal I/O here: the command asks the questions and renders; this module decides and acts, and raises
`Refused` (exit 4) with the reason whenever breaking the lock could hurt a live holder.
"""

from __future__ import annotations

import json
import logging
import shlex
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from billingops.errors import Refused, StepFailed, UsageError
from billingops.locks.liveness import LIVE
from billingops.locks.model import HeldLock, LockChanged, LockInfo, format_age

if TYPE_CHECKING:
    from billingops.locks.finder import LockTarget

log = logging.getLogger(__name__)

DEFAULT_OLDER_THAN = {"prod": 15 * 60.0}
DEFAULT_OLDER_THAN_OTHER = 5 * 60.0


def default_older_than(env_name: str) -> float:
    return DEFAULT_OLDER_THAN.get(env_name, DEFAULT_OLDER_THAN_OTHER)


def recheck_seconds() -> float:
    """BILLINGOPS_UNLOCK_RECHECK_SECONDS (default 5)."""
    from billingops.config import tunables

    return tunables().unlock_recheck


@dataclass
class Selection:
    lock_id: str
    records: list[HeldLock]

    @property
    def info(self) -> LockInfo:
        info = self.records[0].info
        if info is None:  # select() refuses malformed records, so a Selection always has its info
            raise ValueError("a selected lock record has no lock info")
        return info

    def age_seconds(self) -> float | None:
        return self.info.age_seconds()


def select(held: list[HeldLock], lock_id: str | None, env_name: str) -> Selection | None:
    """The records of the one lock to break; None when nothing is held."""
    if not held:
        return None
    malformed = [lock for lock in held if lock.malformed]
    if malformed:
        lock = malformed[0]
        raise Refused(
            f"The lock record {lock.location} exists but {lock.malformed}, so billingops cannot tell "
            "who holds it or whether it is safe to delete; nothing was deleted.",
            hint=f"Inspect the record by hand; only if no terraform or billingops run uses this state, delete "
            f"that one record (never the '-md5' digest item): `{manual_delete_command(lock)}`, and say so "
            f"in the incident channel.",
            details={"locks": [lock.to_dict() for lock in held]},
        )
    ids: dict[str, list[HeldLock]] = {}
    for lock in held:
        ids.setdefault(lock.lock_id, []).append(lock)
    if lock_id:
        chosen = [lock for lock in held if lock_id in (lock.lock_id, lock.extra.get("json_id"))]
        if not chosen:
            now = ", ".join(sorted(ids))
            raise Refused(
                f"The lock on {env_name} now has id {now}, not {lock_id}: the lock you looked at was "
                "released "
                f"and someone took a new one.",
                hint=f"Run `billingops locks --env {env_name}` to see the current holder before doing anything.",
                details={"locks": [lock.to_dict() for lock in held]},
            )
        return Selection(chosen[0].lock_id, chosen)
    if len(ids) > 1:
        raise UsageError(
            f"{env_name} has {len(ids)} different locks ({', '.join(sorted(ids))}) on its lock stores.",
            hint="Look at them with `billingops locks`, then pass --lock-id ID to break one.",
        )
    only = next(iter(ids))
    return Selection(only, ids[only])


def manual_delete_command(lock: HeldLock) -> str:
    """The cloud-CLI command that removes exactly this record, for when billingops must not."""
    scheme, _, rest = lock.location.partition("://")
    if scheme == "dynamodb":
        table, _, lock_key = rest.partition("/")
        key = json.dumps({"LockID": {"S": lock_key}})
        argv = ["aws", "dynamodb", "delete-item", "--table-name", table, "--key", key]
        if lock.token:  # only while the record is the one shown
            argv += ["--condition-expression", "Info = :info",
                     "--expression-attribute-values", json.dumps({":info": {"S": lock.token}})]
    elif scheme == "s3":
        bucket, _, object_key = lock.location.removeprefix("s3://").partition("/")
        argv = ["aws", "s3api", "delete-object", "--bucket", bucket, "--key", object_key]
        if lock.token:  # only while the object is the one shown
            argv += ["--if-match", lock.token]
    elif scheme == "gs":
        argv = ["gsutil", "-h", f"x-goog-if-generation-match:{lock.token}", "rm", lock.location]
    else:
        argv = ["rm", lock.location]
    return shlex.join(argv)  # every argument quoted: a lock key or path written by others cannot add commands


def refusals(selection: Selection, older_than: float, older_than_flag: str) -> list[str]:
    """Every reason not to break this lock now; empty means the safety rules allow it."""
    reasons: list[str] = []
    age = selection.age_seconds()
    if age is None:
        reasons.append(f"its creation time {selection.info.created!r} cannot be read, so its age is unknown")
    elif age < older_than:
        reasons.append(f"it is only {format_age(age)} old, younger than {older_than_flag} {format_age(older_than)}")
    for record in selection.records:
        verdict = record.liveness
        if verdict is not None and verdict.status == LIVE:
            reasons.extend(f"{reason} ({record.store})" for reason in verdict.reasons)
    return reasons


def recheck(target: LockTarget, selection: Selection, wait: float) -> Selection | None:
    """Read again after `wait` seconds: same records -> fresh Selection, all gone -> None, else Refused."""
    if wait > 0:
        log.info("waiting %.1fs before reading the lock again", wait)
        time.sleep(wait)
    again = target.read()
    mine = {record.location for record in selection.records}
    now = [lock for lock in again if lock.location in mine]
    if not now:
        return None
    before = {r.location: r.token for r in selection.records}
    if len(now) != len(selection.records) or any(before.get(r.location) != r.token for r in now):
        raise Refused(
            f"The lock changed while billingops was checking it (it was read twice {wait:.0f}s apart): "
            f"someone released and re-took it, so it has a live holder; nothing was deleted.",
            hint=f"Run `billingops locks --env {target.env.name}` to see the new holder.",
            details={"locks": [lock.to_dict() for lock in again]},
        )
    return Selection(selection.lock_id, now)


def delete(target: LockTarget, selection: Selection) -> list[str]:
    """Conditionally delete each record; stop at the first that changed. Returns the deleted locations."""
    deleted: list[str] = []
    for record in selection.records:
        try:
            target.store_for(record).delete(record)
        except LockChanged as exc:
            if not deleted:
                raise Refused(
                    f"Nothing was deleted: {exc}; a fresh lock is never removed.",
                    hint=f"Run `billingops locks --env {target.env.name}` to see the current holder.",
                ) from None
            raise StepFailed(
                f"Deleted {', '.join(deleted)} but not {record.location}: {exc}. The state is now locked "
                "only "
                f"there, by whoever re-took it.",
                hint=f"Run `billingops locks --env {target.env.name}` and check that holder before retrying.",
            ) from None
        deleted.append(record.location)
    return deleted
