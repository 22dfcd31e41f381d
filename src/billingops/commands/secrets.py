"""`billingops secrets seed|list|check`: the app's secrets in the cloud secret store, never their values."""

# No `from __future__ import annotations`: with_session copies the annotations onto its wrapper, where
# Typer could not resolve string annotations, and the options would lose their names and help.

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from billingops.commands.common import LockWaitOpt, NoLockOpt, Session, lock_wait_seconds, with_session
from billingops.errors import StepFailed, UsageError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

SecretIdOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--secret-id",
        metavar="NAME=ID",
        help="Secret id for NAME (ARN on AWS, projects/P/secrets/S on GCP) instead of terraform's "
        "secret_ids output. Repeatable.",
    ),
]


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Seed, list and check the app's secrets (values are never shown).", no_args_is_help=True)
    sub.command("seed")(seed)
    sub.command("list")(list_)
    sub.command("check")(check)
    app.add_typer(sub, name="secrets")


@with_session()
def seed(
    session: Session,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", envvar="BILLINGOPS_SECRETS_FILE", show_envvar=True, help="dotenv file of NAME=VALUE lines."
        ),
    ] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read NAME=VALUE lines from stdin.")] = False,
    rotate: Annotated[
        list[str] | None,
        typer.Option(
            "--rotate",
            metavar="NAME",
            help="Force a new version of NAME (generated secrets regenerate). Repeatable.",
        ),
    ] = None,
    secret_id: SecretIdOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    no_lock: NoLockOpt = False,
    lock_wait: LockWaitOpt = None,
) -> None:
    """Write missing or changed secret values; a version is added only when the value differs.

    Values come from BILLINGOPS_SECRET_<NAME>, --file or --stdin, never from an argument.

    Secrets that may be generated are generated when they have no version yet; --rotate NAME forces a new one.
    """
    from billingops.locks import deploy_lock
    from billingops.secrets import seed as seeding
    from billingops.secrets.sources import collect

    env = session.env()
    out = session.output
    stdin_text = _read_stdin(out) if stdin else None
    provided = collect(env.secrets, file=file, stdin_text=stdin_text)
    store, ids = _store_and_ids(env, secret_id)
    audit = session.audit()
    take_lock = not (no_lock or dry_run)
    with deploy_lock.hold(env, "secrets seed", enabled=take_lock, wait=lock_wait_seconds(lock_wait)):
        plan = seeding.build_plan(store, env.secrets, ids, provided, rotate=rotate or [])
        if dry_run:
            actions = plan.actions
        else:
            names = [a.name for a in plan.writes]
            audit.record("secrets.seed.start", env=env.name, cloud=env.cloud, writes=names)
            actions = seeding.apply_plan(store, plan)
            audit.record(
                "secrets.seed.end",
                env=env.name,
                cloud=env.cloud,
                actions={a.name: a.action for a in actions},
                versions={a.name: a.new_version for a in actions if a.new_version},
            )
    written = sum(1 for a in actions if a.action in seeding.WRITES)
    data = {
        "env": env.name,
        "cloud": env.cloud,
        "dry_run": dry_run,
        "written": 0 if dry_run else written,
        "would_write": written if dry_run else 0,
        "secrets": actions,
    }

    def render(console: Any) -> None:
        rows = [
            (
                a.name,
                a.source,
                a.action + (" (dry run)" if dry_run and a.action in seeding.WRITES else ""),
                a.origin,
                a.new_version or a.version,
                a.changed_at,
            )
            for a in actions
        ]
        console.print(
            out.table(
                f"Secrets for {env.name} ({env.cloud})",
                ["NAME", "SOURCE", "ACTION", "FROM", "VERSION", "CHANGED"],
                rows,
            )
        )
        verb = "would be written" if dry_run else "written"
        console.print(f"{written} secret version(s) {verb}; {len(actions) - written} left as they are.")

    out.result(data, render)


@with_session()
def list_(session: Session, secret_id: SecretIdOpt = None) -> None:
    """List the declared secrets with their current version and when it changed; values are never shown."""
    from billingops.secrets.inventory import inventory

    env = session.env()
    store, ids = _store_and_ids(env, secret_id)
    rows = inventory(store, env.secrets, ids)
    out = session.output

    def render(console: Any) -> None:
        console.print(
            out.table(
                f"Secrets for {env.name} ({env.cloud})",
                ["NAME", "SOURCE", "STATUS", "VERSION", "LAST CHANGED"],
                [(r.name, r.source, r.status, r.version, r.changed_at) for r in rows],
            )
        )

    out.result({"env": env.name, "cloud": env.cloud, "secrets": rows}, render)


@with_session()
def check(session: Session, secret_id: SecretIdOpt = None) -> None:
    """Fail (exit 1) when a required secret has no version; the deploy preflight runs the same check."""
    from billingops.secrets.inventory import inventory, problems

    env = session.env()
    store, ids = _store_and_ids(env, secret_id)
    rows = inventory(store, env.secrets, ids)
    bad = problems(rows)
    out = session.output
    if bad:
        if not out.json_mode:
            out.out.print(
                out.table(
                    f"Secrets for {env.name} ({env.cloud})",
                    ["NAME", "SOURCE", "STATUS"],
                    [(r.name, r.source, r.status) for r in rows],
                )
            )
        raise StepFailed(
            f"{len(bad)} required secret(s) of {env.name} have no version: "
            + ", ".join(f"{r.name} ({r.status})" for r in bad)
            + ".",
            hint=missing_hint(bad),
            details={"secrets": [vars(r) for r in rows]},
        )

    def render(console: Any) -> None:
        console.print(f"All {len(rows)} declared secrets of {env.name} have a current version.")

    out.result({"env": env.name, "cloud": env.cloud, "ok": True, "secrets": rows}, render)


def missing_hint(bad: list[Any]) -> str:
    terraform = [r.name for r in bad if r.source == "terraform"]
    seeded = [r.name for r in bad if r.source != "terraform"]
    parts = []
    if seeded:
        parts.append(
            f"seed {', '.join(seeded)} with `billingops secrets seed` (values from "
            "BILLINGOPS_SECRET_<NAME>, --file or --stdin)"
        )
    if terraform:
        parts.append(f"{', '.join(terraform)} come from terraform: run `billingops deploy` through apply")
    return "To fix: " + "; ".join(parts) + "."


def _store_and_ids(env: "EnvConfig", secret_id: list[str] | None) -> tuple[Any, dict[str, str]]:
    from billingops.clouds import secret_store
    from billingops.secrets.context import terraform_outputs
    from billingops.secrets.seed import parse_overrides, resolve_ids

    overrides = parse_overrides(secret_id or [])
    outputs: dict[str, Any] = {}
    if any(s.name not in overrides for s in env.secrets):
        outputs = terraform_outputs(env, "secret_ids; --secret-id NAME=ID for every secret avoids it")
    ids = resolve_ids(env.secrets, outputs.get("secret_ids"), overrides)
    return secret_store(env, outputs), ids


def _read_stdin(out: Any) -> str:
    if sys.stdin is None:
        raise UsageError("--stdin was given but there is no standard input.", hint="Pipe NAME=VALUE lines in.")
    if sys.stdin.isatty():
        out.say(
            "Reading NAME=VALUE lines from the terminal; end with Ctrl-D (typed values are visible: "
            "prefer --file or a pipe).",
            "warn",
        )
    return sys.stdin.read()
