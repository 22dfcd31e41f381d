"""`billingops locks` lists held terraform state locks; `billingops unlock` breaks a dead holder's lock."""

# No `from __future__ import annotations`: Typer must see the Annotated option objects, not strings.
import logging
from typing import Annotated, Any

import typer

from billingops.commands.common import Session, check_not_empty, duration_option, with_session
from billingops.services import unlock as use_case
from billingops.services.locks import list_locks

log = logging.getLogger(__name__)

BackendConfigOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--backend-config",
        metavar="KEY=VALUE|FILE",
        help="Override the backend settings as `terraform init -backend-config` does (repeatable).",
    ),
]
WorkspaceOpt = Annotated[
    str | None,
    typer.Option("--workspace", "-w", help="Terraform workspace (default: TF_WORKSPACE, else the selected one)."),
]

UNLOCK_HELP = (
    "Break the terraform state lock a dead deploy left behind, safely.\n\n"
    'Use it when a deploy or plan fails with "Error acquiring the state lock". Finds the lock on S3 +'
    " DynamoDB, the S3 lockfile (both, if both are configured), GCS or the local backend, shows its "
    "holder, then applies these safety rules:\n\n"
    "* Refuses (exit 4) when the lock is younger than --older-than (default 15m in prod, 5m "
    "elsewhere).\n\n"
    "* Refuses when the holder is on this host and a terraform process using the same state is alive "
    "(found through /proc), or when the holder is a billingops run whose journal says running and "
    "whose pid is alive.\n\n"
    "* Reads the lock twice, BILLINGOPS_UNLOCK_RECHECK_SECONDS apart (default 5), and breaks it only "
    "if it did not change; deletes conditionally (DynamoDB condition on the lock info, GCS "
    "generation, S3 If-Match, fcntl for the local backend), so a lock taken meanwhile is never "
    "removed.\n\n"
    "* Asks you to type the lock id (the env name in prod). --yes skips that only together with an "
    "explicit --older-than; without a terminal and without --yes it stops with an error naming the "
    "flags.\n\n"
    "* Records every unlock and every refusal in the audit log with the full lock info.\n\n"
    "With --deploy-lock it breaks the billingops deploy lock (one deploy, rollout, migration or "
    "secret seeding per environment) of a dead run instead, under the same rules: its holder's pid is"
    " checked directly when it ran on this host.\n\n"
    "Exit codes: 0 unlocked or nothing to unlock, 2 bad input, 3 the lock store is unreachable, 4 "
    "refused."
)


def register(app: typer.Typer) -> None:
    app.command("locks", help="List held terraform state locks, with holder, age and a liveness verdict.")(locks)
    app.command("unlock", help=UNLOCK_HELP)(unlock)


@with_session()
def locks(
    session: Session,
    all_envs: Annotated[bool, typer.Option("--all", help="Every configured environment.")] = False,
    workspace: WorkspaceOpt = None,
    backend_config: BackendConfigOpt = None,
) -> int:
    listing = list_locks(session, all_envs=all_envs, workspace=workspace, backend_config=backend_config)
    checks = {"checked": listing.checked, "could_not_check": listing.could_not_check}
    session.output.result(listing, lambda console: _render_locks(session, listing.locks, listing.searched, checks))
    return listing.exit_code


def _render_locks(session: Session, found: list[dict[str, Any]], names: list[str],
                  data: dict[str, Any] | None = None) -> None:
    from billingops.locks.model import format_age

    console = session.output.out
    if data is not None and data["could_not_check"]:
        held_in = {lock["env"] for lock in found}
        for name in data["checked"]:
            if name not in held_in:
                console.print(f"{name}: checked, none held.")
        console.print("COULD NOT CHECK " + ", ".join(u["env"] for u in data["could_not_check"])
                      + ": their locks are unknown, not absent.")
        for unchecked in data["could_not_check"]:
            console.print(f"  {unchecked['env']}: {unchecked['why']}")
    elif not found:
        console.print(f"No state lock or deploy lock held on {', '.join(names)}.")
        return
    if not found:
        return
    for lock in found:
        rows = [
            ("Lock ID", lock["lock_id"]),
            ("Operation", lock["operation"]),
            ("Who", lock["who"]),
            ("Version", lock["version"]),
            ("Created", lock["created"]),
            ("Age", format_age(lock["age_seconds"])),
            *([("Heartbeat", f"{format_age(lock['heartbeat_age_seconds'])} ago")] if "heartbeat" in lock else []),
            ("Path", lock["path"]),
            ("Record", lock["location"]),
            ("Workspace", lock["workspace"]),
            ("Liveness", _liveness_text(lock)),
        ]
        title = "billingops deploy lock" if lock["kind"] == "deploy" else f"terraform state lock ({lock['store']})"
        console.print(
            session.output.table(f"{lock['env']}: {title}, {lock['backend']} backend", ["Field", "Value"], rows)
        )
    for lock in found:
        if lock["malformed"]:
            console.print(f"{lock['location']}: malformed: {lock['malformed']}")


def _liveness_text(lock: dict[str, Any]) -> str:
    verdict = lock.get("liveness") or {}
    if lock.get("malformed"):
        return "unknown: malformed lock record"
    return f"{verdict.get('status', 'unknown')}: " + "; ".join(verdict.get("reasons") or [])


@with_session()
def unlock(
    session: Session,
    lock_id: Annotated[str | None, typer.Option("--lock-id", metavar="LOCK_ID", callback=check_not_empty,
                                                         help="Break only the lock with this id.")] = None,
    older_than: Annotated[
        str | None,
        duration_option(
            "--older-than",
            as_text=True,
            help="Refuse unless the lock is at least this old (e.g. 0s, 30m, 2h). Default 15m in prod, 5m elsewhere.",
        ),
    ] = None,
    deploy_lock: Annotated[
        bool,
        typer.Option(
            "--deploy-lock",
            help="Break the billingops deploy lock of a dead run instead of terraform's state lock.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    backend_config: BackendConfigOpt = None,
) -> None:
    result = use_case.unlock(session, lock_id=lock_id, older_than=older_than, deploy_lock=deploy_lock,
                             workspace=workspace, backend_config=backend_config)
    session.output.result(result, lambda console: _render_unlock(console, result))


def _render_unlock(console: Any, result: use_case.UnlockResult) -> None:
    if isinstance(result, use_case.NothingToUnlock):
        console.print(f"Nothing to unlock on {result.env}.")
    elif isinstance(result, use_case.ReleasedMeanwhile):
        console.print(f"Nothing to unlock on {result.env}: the lock was released meanwhile.")
    else:
        for location in result.deleted:
            console.print(f"Deleted {location}")
        console.print(f"Unlocked {result.env}: lock {result.lock_id} held by {result.lock['Who']} "
                      f"({result.lock['Operation']}) is gone.")
        console.print(f"Resume the interrupted {result.command}: {result.resume}")
