"""`billingops unlock`: break a dead holder's lock safely, and audit every outcome.

The rules (rules.py) pick the records, list every reason to refuse, re-read and delete conditionally; this
module runs them in order, asks through session.ui and returns what happened. It raises `Refused` (exit 4)
with the reason whenever breaking the lock could hurt a live holder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops.errors import ApprovalRequired, BillingOpsError, Refused
from billingops.locks.model import HeldLock, format_age
from billingops.services.unlock.rules import (
    Selection,
    default_older_than,
    delete,
    recheck,
    recheck_seconds,
    refusals,
    select,
)

if TYPE_CHECKING:
    from billingops.locks.finder import LockTarget
    from billingops.session import Session

log = logging.getLogger(__name__)


@dataclass
class NothingToUnlock:
    """No lock of that kind is held (outcome "nothing-to-unlock")."""

    env: str
    cloud: str
    workspace: str
    outcome: str = "nothing-to-unlock"


@dataclass
class ReleasedMeanwhile:
    """The holder released the lock while it was being re-read (outcome "nothing-to-unlock")."""

    env: str
    released_meanwhile: str
    outcome: str = "nothing-to-unlock"


@dataclass
class Unlocked:
    env: str
    cloud: str
    workspace: str
    lock_id: str
    lock: dict[str, str]
    deleted: list[str] = field(default_factory=list)
    resume: str = ""
    outcome: str = "unlocked"

    @property
    def command(self) -> str:
        """The interrupted command, as `resume` names it (deploy, db migrate, ...)."""
        return self.resume.removeprefix("billingops ").partition(" --env ")[0]


UnlockResult = NothingToUnlock | ReleasedMeanwhile | Unlocked


def unlock(session: Session, *, lock_id: str | None = None, older_than: str | None = None,
           deploy_lock: bool = False, workspace: str | None = None,
           backend_config: list[str] | None = None) -> UnlockResult:
    """Break the terraform state lock (or with deploy_lock the billingops deploy lock) a dead run left behind."""
    from billingops.config import parse_duration
    from billingops.locks.finder import resolve_target

    env = session.env()
    threshold = parse_duration(older_than, "--older-than") if older_than is not None else default_older_than(env.name)
    flag = "--older-than" if older_than is not None else "the default --older-than"
    if session.yes and older_than is None:
        raise ApprovalRequired(
            "--yes alone does not approve breaking a state lock: it needs an explicit --older-than, so the "
            "minimum age is a decision you made for this lock.",
            hint=f"Pass both, e.g. `billingops unlock --env {env.name} --older-than 30m --yes`, or drop "
            "--yes to "
            "confirm interactively.",
        )
    wait = recheck_seconds()
    target = resolve_target(
        env, backend_overrides=backend_config or [], workspace=workspace, runs_dir=session.settings.runs_dir
    )
    audit = _Auditor(session, target, threshold)
    ui = session.ui
    kind = "deploy" if deploy_lock else "terraform"
    what = "billingops deploy lock" if deploy_lock else "state lock"
    target.stores = [s for s in target.stores if s.store.startswith("deploy-") == deploy_lock]
    with ui.status(f"Reading the {what} of {env.name} ({target.describe()})"):
        held = [lock for lock in target.read() if lock.extra.get("kind", "terraform") == kind]
    try:
        selection = select(held, lock_id, env.name)
    except Refused as err:
        audit.record("refused", None, reasons=[err.message], records=held)
        raise
    if selection is None:
        ui.say(f"Nothing to unlock: no {what} is held on {env.name} ({target.describe()}).", "ok")
        return NothingToUnlock(env=env.name, cloud=env.cloud, workspace=target.workspace)
    _show_holder(session, target, selection)
    try:
        again = _approve(session, target, selection, threshold, flag, wait)
    except (Refused, ApprovalRequired) as err:
        audit.record("refused", selection, reasons=[err.message])
        raise
    if again is None:
        ui.say(f"The lock {selection.lock_id} was released by its holder meanwhile: nothing to unlock.", "ok")
        return ReleasedMeanwhile(env=env.name, released_meanwhile=selection.lock_id)
    audit.record("breaking", again)
    try:
        deleted = delete(target, again)
    except BillingOpsError as err:
        audit.record("failed", again, reasons=[err.message])
        raise
    audit.record("broken", again, deleted=deleted)
    command = (again.records[0].extra.get("command") if deploy_lock else None) or "deploy"
    resume = (
        f"billingops {command} --env {env.name}" + (f" --cloud {session.cloud}" if session.cloud else "") + " --resume"
    )
    return Unlocked(env=env.name, cloud=env.cloud, workspace=target.workspace, lock_id=again.lock_id,
                    lock=again.info.as_terraform(), deleted=deleted, resume=resume)


def _approve(session: Session, target: LockTarget, selection: Selection, threshold: float, flag: str,
             wait: float) -> Selection | None:
    """The refusal rules, the typed confirmation and the re-read; the records to delete (None: released)."""
    env = target.env
    reasons = refusals(selection, threshold, flag)
    if reasons:
        raise Refused(
            f"Refusing to break the lock {selection.lock_id} on {env.name}: " + "; ".join(reasons) + ".",
            hint="If the holder is really gone, wait until it is older, or pass --older-than with the "
            "age you "
            "accept (e.g. --older-than 0s) after checking with its owner; a live terraform must finish "
            "or be stopped first.",
            details={"lock": selection.info.as_terraform()},
        )
    if not session.yes:
        expected = env.name if env.is_prod else selection.lock_id
        what = "the environment name" if env.is_prod else "the lock id"
        if not session.ui.confirm_typed(
            f"Break the state lock {selection.lock_id} on {env.name}? Type {what}",
            expected,
            flag="--yes together with --older-than DURATION",
        ):
            raise Refused(
                "The confirmation did not match, so the lock was left in place.",
                hint="Run the command again and type the value exactly.",
            )
    with session.ui.status(f"Reading the lock again in {wait:g}s to make sure it is not changing"):
        again = recheck(target, selection, wait)
    if again is None:
        return None
    reasons = refusals(again, threshold, flag)
    if reasons:
        raise Refused(
            f"Refusing to break the lock {again.lock_id}: " + "; ".join(reasons) + ".",
            hint="A holder became visible while checking: let it finish.",
        )
    return again


def _show_holder(session: Session, target: LockTarget, selection: Selection) -> None:
    info = selection.info
    say = session.ui.say
    kind = "Deploy lock" if selection.records[0].extra.get("kind") == "deploy" else "State lock"
    say(f"{kind} on {target.env.name} ({target.describe()}):")
    for label, value in (
        ("ID", selection.lock_id),
        ("Operation", info.operation),
        ("Who", info.who),
        ("Version", info.version),
        ("Created", f"{info.created} (age {format_age(selection.age_seconds())})"),
        ("Path", info.path),
        ("Info", info.info or "-"),
    ):
        say(f"  {label:<10} {value}")
    for record in selection.records:
        verdict = record.liveness
        reasons = "; ".join(verdict.reasons) if verdict else ""
        say(
            f"  {record.store:<10} {record.location}: {verdict.status if verdict else 'unknown'}"
            + (f" ({reasons})" if reasons else "")
        )


class _Auditor:
    def __init__(self, session: Session, target: LockTarget, threshold: float) -> None:
        self.session, self.target, self.threshold = session, target, threshold

    def record(
        self,
        outcome: str,
        selection: Selection | None,
        *,
        reasons: list[str] | None = None,
        records: list[HeldLock] | None = None,
        deleted: list[str] | None = None,
    ) -> None:
        recs = selection.records if selection is not None else (records or [])
        details: dict[str, Any] = {
            "outcome": outcome,
            "env": self.target.env.name,
            "cloud": self.target.env.cloud,
            "backend": self.target.config.type,
            "workspace": self.target.workspace,
            "lock_id": selection.lock_id if selection is not None else None,
            "lock": selection.info.as_terraform() if selection is not None and selection.info else None,
            "records": [r.to_dict() for r in recs],
            "older_than_seconds": self.threshold,
            "reasons": reasons or [],
            "deleted": deleted or [],
            "argv": self.session.argv,
        }
        self.session.audit().record("unlock", **details)
