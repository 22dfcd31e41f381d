"""`billingops db migrate|status`: versioned SQL migrations, directly or as a one-off task of the app."""

# No `from __future__ import annotations`: with_session copies the annotations onto its wrapper, where
# Typer could not resolve string annotations, and the options would lose their names and help.

from typing import Annotated, Any

import typer

from billingops.commands.common import NoLockOpt, Session, duration_option, lock_wait_seconds, with_session
from billingops.services.db_migrate import migrate as use_case

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="BILLINGOPS_DATABASE_URL",
        show_envvar=True,
        help="postgresql://USER:PASSWORD@HOST:PORT/DB instead of the DATABASE_URL secret "
        "(prefer the env var: arguments show in `ps`).",
    ),
]
ViaOpt = Annotated[
    str | None,
    typer.Option(
        "--via",
        metavar="HOST:PORT",
        help="Connect through a tunnel's local address (SSM port forwarding, Cloud SQL Auth Proxy), "
        "keeping the URL's user, password and database.",
    ),
]
SecretIdOpt = Annotated[
    str | None,
    typer.Option(
        "--secret-id",
        metavar="DATABASE_URL=ID",
        help="The DATABASE_URL secret's id instead of terraform's output.",
    ),
]


DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="List what would run; change nothing.")]
MigrateLockWaitOpt = Annotated[
    str | None,
    duration_option(
        "--lock-wait",
        as_text=True,
        help="Wait this long for another run's billingops deploy lock and PostgreSQL migration lock "
        "(e.g. 90s, 5m). Default: refuse a held deploy lock at once, wait 60s for the migration lock.",
    ),
]
TaskModeOpt = Annotated[
    bool | None,
    typer.Option(
        "--task/--direct",
        help="Run as a one-off task of the app image (ECS task / Cloud Run job) or connect "
        "directly; default from the environment's migrations_mode.",
    ),
]
TaskCommandOpt = Annotated[str, typer.Option("--task-command", help="The app image's migration command for --task.")]
TaskTimeoutOpt = Annotated[float, duration_option("--task-timeout", minimum=1, help="How long to wait for the task.")]
ClusterOpt = Annotated[str | None, typer.Option("--cluster", help="AWS --task: ECS cluster.")]
TaskDefinitionOpt = Annotated[str | None, typer.Option("--task-definition", help="AWS --task: family[:rev].")]
ContainerOpt = Annotated[str | None, typer.Option("--container", help="AWS --task: the app container.")]
SubnetOpt = Annotated[list[str] | None, typer.Option("--subnet", help="AWS --task: private subnet (repeat).")]
SecurityGroupOpt = Annotated[list[str] | None, typer.Option("--security-group", help="AWS --task: SG (repeat).")]
JobOpt = Annotated[str | None, typer.Option("--job", help="GCP --task: Cloud Run job (default SERVICE-migrate).")]


def register(db_app: typer.Typer) -> None:
    db_app.command("migrate")(migrate)
    db_app.command("status")(status)


@with_session()
def migrate(
    session: Session,
    database_url: DatabaseUrlOpt = None,
    via: ViaOpt = None,
    secret_id: SecretIdOpt = None,
    dry_run: DryRunOpt = False,
    lock_wait: MigrateLockWaitOpt = None,
    task: TaskModeOpt = None,
    task_command: TaskCommandOpt = "migrate",
    task_timeout: TaskTimeoutOpt = 1800.0,
    cluster: ClusterOpt = None,
    task_definition: TaskDefinitionOpt = None,
    container: ContainerOpt = None,
    subnet: SubnetOpt = None,
    security_group: SecurityGroupOpt = None,
    job: JobOpt = None,
    no_lock: NoLockOpt = False,
) -> None:
    """Apply pending migrations in order, each in its own transaction, under a PostgreSQL advisory lock."""
    task_options = use_case.TaskOptions(command=task_command, timeout=task_timeout, cluster=cluster,
                                        task_definition=task_definition, container=container, subnets=subnet,
                                        security_groups=security_group, job=job)
    report = use_case.migrate(session, database_url=database_url, via=via, secret_id=secret_id, dry_run=dry_run,
                              lock_wait=lock_wait_seconds(lock_wait) if lock_wait else None, task=task,
                              task_options=task_options, take_lock=not no_lock)
    session.output.result(report, lambda console: _render_migrate(session.output, console, report))


def _render_migrate(out: Any, console: Any, report: Any) -> None:
    if report.mode == "task":
        console.print(f"Migration task {report.task} finished with exit code 0 in {report.seconds} s.")
    elif report.dry_run:
        names = (
            "\n".join(f"  {name}" for name in report.pending) or "  (nothing: the database is up to date)"
        )
        console.print(f"Would apply to {report.database} ({report.env}):\n{names}")
    elif report.applied:
        console.print(
            out.table(
                f"Applied to {report.database} ({report.env})",
                ["VERSION", "FILE", "MS"],
                [(f"{s.version:04d}", s.name, s.duration_ms) for s in report.applied],
            )
        )
    else:
        console.print(f"{report.database} ({report.env}) is up to date: no pending migrations.")


@with_session()
def status(
    session: Session, database_url: DatabaseUrlOpt = None, via: ViaOpt = None, secret_id: SecretIdOpt = None
) -> None:
    """List applied and pending migrations; exit 1 when an applied file was edited or went missing."""
    result = use_case.migration_status(session, database_url=database_url, via=via, secret_id=secret_id)
    out = session.output
    bad = result.bad

    def render(console: Any) -> None:
        states = result.migrations
        console.print(
            out.table(
                f"Migrations on {result.database} ({result.env})",
                ["VERSION", "FILE", "STATE", "APPLIED AT", "MS"],
                [(f"{s.version:04d}", s.name, s.state, s.applied_at, s.duration_ms) for s in states],
                styles=[("red" if s in bad else None) for s in states],
            )
        )
        console.print(f"{result.applied} applied, {result.pending} pending.")

    if bad:
        # One JSON document on stdout: with --json the error document carries the table in its details.
        if not out.json_mode:
            render(out.out)
        raise use_case.mismatch_error(result)
    out.result(result, render)
