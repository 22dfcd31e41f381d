"""`billingops locks` lists held terraform state locks; `billingops unlock` breaks a dead holder's lock."""

# No `from __future__ import annotations`: Typer must see the Annotated option objects, not strings.
import logging
from typing import Annotated, Any

import typer

from billingops.commands.common import Session, with_session
from billingops.errors import EXIT_EXTERNAL, ApprovalRequired, BillingOpsError, Refused

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
    from billingops.config import ENVIRONMENTS
    from billingops.locks.finder import find_locks

    names = (
        ([n for n in ENVIRONMENTS if n in session.settings.raw_envs] or list(ENVIRONMENTS))
        if all_envs
        else [session.env().name]
    )
    found: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    exit_code = 0
    for name in names:
        try:
            env = session.settings.env(name, session.cloud)
            held = find_locks(
                env,
                backend_overrides=backend_config or [],
                workspace=workspace,
                runs_dir=session.settings.runs_dir,
            )
        except BillingOpsError as err:
            if not all_envs:
                raise
            errors.append({"env": name, "error": err.message, "hint": err.hint, "exit_code": err.exit_code})
            exit_code = max(exit_code, err.exit_code)
            continue
        found.extend(lock.to_dict() for lock in held)
    for problem in errors:
        session.output.warn(f"{problem['env']}: {problem['error']} {problem['hint']}")
    data = _checked_document(names, found, errors)
    session.output.result(data, lambda console: _render_locks(session, found, names, data))
    return EXIT_EXTERNAL if errors else exit_code


def _checked_document(names: list[str], found: list[dict[str, Any]], errors: list[dict[str, Any]]
                      ) -> dict[str, Any]:
    """Never an unchecked all-clear: what was checked, and what could not be checked and why."""
    unchecked = [{"env": e["env"], "why": f"{e['error']} {e['hint']}".strip()} for e in errors]
    checked = [n for n in names if n not in {e["env"] for e in errors}]
    outcome = "could not check" if unchecked else ("held" if found else "none held")
    return {"outcome": outcome, "locks": found, "checked": checked, "could_not_check": unchecked,
            "errors": errors}


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
    lock_id: Annotated[str | None, typer.Option("--lock-id", help="Break only the lock with this id.")] = None,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="DURATION",
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
    from billingops.config import parse_duration
    from billingops.locks import unlock as flow
    from billingops.locks.finder import resolve_target
    from billingops.locks.model import format_age

    env = session.env()
    threshold = (parse_duration(older_than, "--older-than") if older_than is not None
                 else flow.default_older_than(env.name))
    flag = "--older-than" if older_than is not None else "the default --older-than"
    if session.yes and older_than is None:
        raise ApprovalRequired(
            "--yes alone does not approve breaking a state lock: it needs an explicit --older-than, so the "
            "minimum age is a decision you made for this lock.",
            hint=f"Pass both, e.g. `billingops unlock --env {env.name} --older-than 30m --yes`, or drop "
            "--yes to "
            "confirm interactively.",
        )
    wait = flow.recheck_seconds()
    target = resolve_target(
        env, backend_overrides=backend_config or [], workspace=workspace, runs_dir=session.settings.runs_dir
    )
    audit = _Auditor(session, target, threshold)
    out = session.output
    kind = "deploy" if deploy_lock else "terraform"
    what = "billingops deploy lock" if deploy_lock else "state lock"
    target.stores = [s for s in target.stores if s.store.startswith("deploy-") == deploy_lock]
    with out.status(f"Reading the {what} of {env.name} ({target.describe()})"):
        held = [lock for lock in target.read() if lock.extra.get("kind", "terraform") == kind]
    try:
        selection = flow.select(held, lock_id, env.name)
    except Refused as err:
        audit.record("refused", None, reasons=[err.message], records=held)
        raise
    if selection is None:
        out.say(f"Nothing to unlock: no {what} is held on {env.name} ({target.describe()}).", "ok")
        out.result(
            {
                "outcome": "nothing-to-unlock",
                "env": env.name,
                "cloud": env.cloud,
                "workspace": target.workspace,
            },
            lambda c: c.print(f"Nothing to unlock on {env.name}."),
        )
        return
    _show_holder(session, target, selection, format_age)
    try:
        reasons = flow.refusals(selection, threshold, flag)
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
            if not out.confirm_typed(
                f"Break the state lock {selection.lock_id} on {env.name}? Type {what}",
                expected,
                flag="--yes together with --older-than DURATION",
            ):
                raise Refused(
                    "The confirmation did not match, so the lock was left in place.",
                    hint="Run the command again and type the value exactly.",
                )
        with out.status(f"Reading the lock again in {wait:g}s to make sure it is not changing"):
            again = flow.recheck(target, selection, wait)
        if again is None:
            out.say(f"The lock {selection.lock_id} was released by its holder meanwhile: nothing to unlock.", "ok")
            out.result(
                {"outcome": "nothing-to-unlock", "env": env.name, "released_meanwhile": selection.lock_id},
                lambda c: c.print(f"Nothing to unlock on {env.name}: the lock was released meanwhile."),
            )
            return
        reasons = flow.refusals(again, threshold, flag)
        if reasons:
            raise Refused(
                f"Refusing to break the lock {again.lock_id}: " + "; ".join(reasons) + ".",
                hint="A holder became visible while checking: let it finish.",
            )
    except (Refused, ApprovalRequired) as err:
        audit.record("refused", selection, reasons=[err.message])
        raise
    audit.record("breaking", again)
    try:
        deleted = flow.delete(target, again)
    except BillingOpsError as err:
        audit.record("failed", again, reasons=[err.message])
        raise
    audit.record("broken", again, deleted=deleted)
    command = (again.records[0].extra.get("command") if deploy_lock else None) or "deploy"
    resume = (
        f"billingops {command} --env {env.name}" + (f" --cloud {session.cloud}" if session.cloud else "") + " --resume"
    )
    data = {
        "outcome": "unlocked",
        "env": env.name,
        "cloud": env.cloud,
        "workspace": target.workspace,
        "lock_id": again.lock_id,
        "lock": again.info.as_terraform(),
        "deleted": deleted,
        "resume": resume,
    }

    def render(console) -> None:
        for location in deleted:
            console.print(f"Deleted {location}")
        console.print(
            f"Unlocked {env.name}: lock {again.lock_id} held by {again.info.who} ({again.info.operation}) is gone."
        )
        console.print(f"Resume the interrupted {command}: {resume}")

    session.output.result(data, render)


def _show_holder(session: Session, target, selection, format_age) -> None:
    info = selection.info
    out = session.output
    kind = "Deploy lock" if selection.records[0].extra.get("kind") == "deploy" else "State lock"
    out.say(f"{kind} on {target.env.name} ({target.describe()}):")
    for label, value in (
        ("ID", selection.lock_id),
        ("Operation", info.operation),
        ("Who", info.who),
        ("Version", info.version),
        ("Created", f"{info.created} (age {format_age(selection.age_seconds())})"),
        ("Path", info.path),
        ("Info", info.info or "-"),
    ):
        out.say(f"  {label:<10} {value}")
    for record in selection.records:
        verdict = record.liveness
        reasons = "; ".join(verdict.reasons) if verdict else ""
        out.say(
            f"  {record.store:<10} {record.location}: {verdict.status if verdict else 'unknown'}"
            + (f" ({reasons})" if reasons else "")
        )


class _Auditor:
    def __init__(self, session: Session, target, threshold: float) -> None:
        self.session, self.target, self.threshold = session, target, threshold

    def record(
        self,
        outcome: str,
        selection,
        *,
        reasons: list[str] | None = None,
        records=None,
        deleted: list[str] | None = None,
    ) -> None:
        recs = selection.records if selection is not None else (records or [])
        self.session.audit().record(
            "unlock",
            outcome=outcome,
            env=self.target.env.name,
            cloud=self.target.env.cloud,
            backend=self.target.config.type,
            workspace=self.target.workspace,
            lock_id=selection.lock_id if selection is not None else None,
            lock=selection.info.as_terraform() if selection is not None and selection.info else None,
            records=[r.to_dict() for r in recs],
            older_than_seconds=self.threshold,
            reasons=reasons or [],
            deleted=deleted or [],
            argv=self.session.argv,
        )
