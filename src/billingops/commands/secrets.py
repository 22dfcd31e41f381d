"""`billingops secrets seed|list|check`: the app's secrets in the cloud secret store, never their values."""

# No `from __future__ import annotations`: with_session copies the annotations onto its wrapper, where
# Typer could not resolve string annotations, and the options would lose their names and help.

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from billingops.commands.common import LockWaitOpt, NoLockOpt, Session, lock_wait_seconds, with_session
from billingops.errors import StepFailed, UsageError
from billingops.services import secrets as use_case

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
    out = session.output
    report = use_case.seed_secrets(session, file=file, stdin=(lambda: _read_stdin(out)) if stdin else None,
                                   rotate=rotate, secret_id=secret_id, dry_run=dry_run, take_lock=not no_lock,
                                   lock_wait=lock_wait_seconds(lock_wait))
    out.result(report, lambda console: _render_seed(out, console, report))


def _render_seed(out: Any, console: Any, report: use_case.SeedReport) -> None:
    from billingops.services.secrets.seed import WRITES

    rows = [
        (
            a.name,
            a.source,
            a.action + (" (dry run)" if report.dry_run and a.action in WRITES else ""),
            a.origin,
            a.new_version or a.version,
            a.changed_at,
        )
        for a in report.secrets
    ]
    console.print(
        out.table(
            f"Secrets for {report.env} ({report.cloud})",
            ["NAME", "SOURCE", "ACTION", "FROM", "VERSION", "CHANGED"],
            rows,
        )
    )
    verb = "would be written" if report.dry_run else "written"
    console.print(f"{report.writes} secret version(s) {verb}; {len(report.secrets) - report.writes} left as they are.")


@with_session()
def list_(session: Session, secret_id: SecretIdOpt = None) -> None:
    """List the declared secrets with their current version and when it changed; values are never shown."""
    listing = use_case.list_secrets(session, secret_id)
    out = session.output

    def render(console: Any) -> None:
        console.print(
            out.table(
                f"Secrets for {listing.env} ({listing.cloud})",
                ["NAME", "SOURCE", "STATUS", "VERSION", "LAST CHANGED"],
                [(r.name, r.source, r.status, r.version, r.changed_at) for r in listing.secrets],
            )
        )

    out.result(listing, render)


@with_session()
def check(session: Session, secret_id: SecretIdOpt = None) -> None:
    """Fail (exit 1) when a required secret has no version; the deploy preflight runs the same check."""
    out = session.output
    try:
        result = use_case.check_secrets(session, secret_id)
    except StepFailed as err:
        if not out.json_mode and "secrets" in err.details:
            env = session.env()
            out.out.print(
                out.table(
                    f"Secrets for {env.name} ({env.cloud})",
                    ["NAME", "SOURCE", "STATUS"],
                    [(r["name"], r["source"], r["status"]) for r in err.details["secrets"]],
                )
            )
        raise

    def render(console: Any) -> None:
        console.print(f"All {len(result.secrets)} declared secrets of {result.env} have a current version.")

    out.result(result, render)


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
