"""`billingops db migrate|status`: versioned SQL migrations, directly or as a one-off task of the app."""

# No `from __future__ import annotations`: with_session copies the annotations onto its wrapper, where
# Typer could not resolve string annotations, and the options would lose their names and help.

from typing import TYPE_CHECKING, Annotated, Any

import typer

from billingops.commands.common import NoLockOpt, Session, lock_wait_seconds, with_session
from billingops.errors import StepFailed, UsageError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

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


def register(db_app: typer.Typer) -> None:
    db_app.command("migrate")(migrate)
    db_app.command("status")(status)


@with_session()
def migrate(
    session: Session,
    database_url: DatabaseUrlOpt = None,
    via: ViaOpt = None,
    secret_id: SecretIdOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would run; change nothing.")] = False,
    lock_wait: Annotated[
        str | None,
        typer.Option(
            "--lock-wait",
            metavar="DURATION",
            help="Wait this long for another run's billingops deploy lock and PostgreSQL migration lock "
            "(e.g. 90s, 5m). Default: refuse a held deploy lock at once, wait 60s for the migration lock.",
        ),
    ] = None,
    task: Annotated[
        bool | None,
        typer.Option(
            "--task/--direct",
            help="Run as a one-off task of the app image (ECS task / Cloud Run job) or connect "
            "directly; default from the environment's migrations_mode.",
        ),
    ] = None,
    task_command: Annotated[
        str, typer.Option("--task-command", help="The app image's migration command for --task.")
    ] = "migrate",
    task_timeout: Annotated[
        float, typer.Option("--task-timeout", min=1, help="Seconds to wait for the task.")
    ] = 1800.0,
    cluster: Annotated[str | None, typer.Option("--cluster", help="AWS --task: ECS cluster.")] = None,
    task_definition: Annotated[
        str | None, typer.Option("--task-definition", help="AWS --task: family[:rev].")
    ] = None,
    container: Annotated[
        str | None, typer.Option("--container", help="AWS --task: the app container.")
    ] = None,
    subnet: Annotated[
        list[str] | None, typer.Option("--subnet", help="AWS --task: private subnet (repeat).")
    ] = None,
    security_group: Annotated[
        list[str] | None, typer.Option("--security-group", help="AWS --task: SG (repeat).")
    ] = None,
    job: Annotated[
        str | None, typer.Option("--job", help="GCP --task: Cloud Run job (default SERVICE-migrate).")
    ] = None,
    no_lock: NoLockOpt = False,
) -> None:
    """Apply pending migrations in order, each in its own transaction, under a PostgreSQL advisory lock."""
    from billingops.locks import deploy_lock

    env = session.env()
    out = session.output
    deploy_wait = lock_wait_seconds(lock_wait)
    migration_wait = deploy_wait if lock_wait else 60.0
    use_task = task if task is not None else env.migrations_mode == "task"
    audit = session.audit()
    if use_task:
        if dry_run:
            raise UsageError(
                "--dry-run cannot be combined with task mode: the app image runs the migrations.",
                hint="Use --direct --dry-run (through a tunnel with --via) to list pending files.",
            )
        from billingops.clouds.task import parse_command
        from billingops.dbmigrate.service import MigrateReport

        command = parse_command(task_command)
        with deploy_lock.hold(env, "db migrate", enabled=not no_lock, wait=deploy_wait):
            runner = _task_runner(
                env,
                out,
                task_timeout,
                cluster=cluster,
                task_definition=task_definition,
                container=container,
                subnets=subnet,
                security_groups=security_group,
                job=job,
            )
            audit.record("db.migrate.start", env=env.name, cloud=env.cloud, mode="task", command=command)
            result = runner.run(command)
            audit.record(
                "db.migrate.end",
                env=env.name,
                cloud=env.cloud,
                mode="task",
                task=result.task,
                exit_code=result.exit_code,
                seconds=result.seconds,
            )
        report = MigrateReport(env.name, "task", False, task=result.task, seconds=result.seconds)
    else:
        from billingops.dbmigrate.service import migrate_direct

        url = _url(env, database_url, secret_id)
        with deploy_lock.hold(env, "db migrate", enabled=not (no_lock or dry_run), wait=deploy_wait):
            if not dry_run:
                audit.record("db.migrate.start", env=env.name, cloud=env.cloud, mode="direct")
            report = migrate_direct(env, url, via=via, dry_run=dry_run, lock_wait=migration_wait, say=out.say)
            if not dry_run:
                audit.record(
                    "db.migrate.end",
                    env=env.name,
                    cloud=env.cloud,
                    mode="direct",
                    applied=[s.name for s in report.applied],
                )

    def render(console: Any) -> None:
        if report.mode == "task":
            console.print(f"Migration task {report.task} finished with exit code 0 in {report.seconds} s.")
        elif dry_run:
            names = (
                "\n".join(f"  {name}" for name in report.pending) or "  (nothing: the database is up to date)"
            )
            console.print(f"Would apply to {report.database} ({env.name}):\n{names}")
        elif report.applied:
            console.print(
                out.table(
                    f"Applied to {report.database} ({env.name})",
                    ["VERSION", "FILE", "MS"],
                    [(f"{s.version:04d}", s.name, s.duration_ms) for s in report.applied],
                )
            )
        else:
            console.print(f"{report.database} ({env.name}) is up to date: no pending migrations.")

    out.result(report, render)


@with_session()
def status(
    session: Session, database_url: DatabaseUrlOpt = None, via: ViaOpt = None, secret_id: SecretIdOpt = None
) -> None:
    """List applied and pending migrations; exit 1 when an applied file was edited or went missing."""
    from billingops.dbmigrate import service
    from billingops.dbmigrate.runner import MISMATCH, MISSING_FILE, PENDING

    env = session.env()
    out = session.output
    url = _url(env, database_url, secret_id)
    states = service.status(env, url, via=via)
    database = service.describe(url)
    bad = [s for s in states if s.state in (MISMATCH, MISSING_FILE)]
    data = {
        "env": env.name,
        "database": database,
        "migrations": states,
        "applied": sum(1 for s in states if s.state != PENDING),
        "pending": sum(1 for s in states if s.state == PENDING),
    }

    def render(console: Any) -> None:
        console.print(
            out.table(
                f"Migrations on {database} ({env.name})",
                ["VERSION", "FILE", "STATE", "APPLIED AT", "MS"],
                [(f"{s.version:04d}", s.name, s.state, s.applied_at, s.duration_ms) for s in states],
                styles=[("red" if s in bad else None) for s in states],
            )
        )
        console.print(f"{data['applied']} applied, {data['pending']} pending.")

    if bad:
        # One JSON document on stdout: with --json the error document carries the table in its details.
        if not out.json_mode:
            render(out.out)
        from billingops.console import to_plain

        raise StepFailed(
            f"{len(bad)} applied migration(s) no longer match their files: "
            + ", ".join(f"{s.name} ({s.state})" for s in bad)
            + ".",
            hint="Restore the applied files from git; put changes in new NNNN_*.sql files.",
            details=to_plain(data),
        )
    out.result(data, render)


def _url(env: "EnvConfig", database_url: str | None, secret_id: str | None) -> str:
    from billingops.dbmigrate.service import DATABASE_URL
    from billingops.dbmigrate.service import database_url as resolve
    from billingops.services.secrets.context import terraform_outputs

    sid = None
    if secret_id:
        name, sep, value = secret_id.partition("=")
        if not sep or name != DATABASE_URL or not value:
            raise UsageError(
                f"--secret-id {secret_id!r} is not DATABASE_URL=ID.",
                hint="Pass --secret-id DATABASE_URL=<ARN or projects/P/secrets/S>.",
            )
        sid = value
    return resolve(
        env,
        explicit=database_url,
        secret_id=sid,
        outputs=lambda: terraform_outputs(env, "the DATABASE_URL secret; --database-url avoids it"),
    )


def _task_runner(env: "EnvConfig", out: Any, timeout: float, **flags: Any) -> Any:
    from billingops.clouds import migration_task
    from billingops.services.secrets.context import terraform_outputs

    if env.cloud == "aws":
        given = {k: v for k, v in flags.items() if k != "job" and v}
        outputs = (
            {}
            if len(given) == 5
            else terraform_outputs(
                env,
                "the ECS task settings; pass --cluster, "
                "--task-definition, --container, --subnet, "
                "--security-group to avoid it",
            )
        )
        return migration_task(env, outputs, **given, timeout=timeout, say=out.say)
    job = flags.get("job")
    outputs = {} if job else terraform_outputs(env, "the Cloud Run job; --job avoids it")
    return migration_task(env, outputs, job=job, timeout=timeout, say=out.say)
