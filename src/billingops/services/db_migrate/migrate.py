"""`billingops db migrate|status`: run the pending migrations (directly or as a one-off task), or list them.

Both find the database URL the same way (--database-url, else the DATABASE_URL secret); `migrate` holds the
billingops deploy lock and records start and end in the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from billingops.errors import StepFailed, UsageError

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.services.db_migrate.runner import MigrationState
    from billingops.services.db_migrate.service import MigrateReport
    from billingops.session import Session
    from billingops.ui import UI

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskOptions:
    """--task: the app image's command, how long to wait, and the ECS / Cloud Run overrides."""

    command: str = "migrate"
    timeout: float = 1800.0
    cluster: str | None = None
    task_definition: str | None = None
    container: str | None = None
    subnets: list[str] | None = None
    security_groups: list[str] | None = None
    job: str | None = None


@dataclass
class MigrationStatus:
    env: str
    database: str
    migrations: list[MigrationState] = field(default_factory=list)
    applied: int = 0
    pending: int = 0

    @property
    def bad(self) -> list[MigrationState]:
        """Applied migrations whose file was edited or went missing."""
        from billingops.services.db_migrate.runner import MISMATCH, MISSING_FILE

        return [s for s in self.migrations if s.state in (MISMATCH, MISSING_FILE)]


def migrate(session: Session, *, database_url: str | None = None, via: str | None = None,
            secret_id: str | None = None, dry_run: bool = False, lock_wait: float | None = None,
            task: bool | None = None, task_options: TaskOptions = TaskOptions(),
            take_lock: bool = True) -> MigrateReport:
    """Apply pending migrations in order, each in its own transaction, under a PostgreSQL advisory lock.

    `lock_wait` (None: not given) bounds the wait for the deploy lock (default: refuse a held one at once) and
    for the PostgreSQL migration lock (default 60 s). `task` None follows the environment's migrations_mode.
    """
    env = session.env()
    deploy_wait = lock_wait or 0.0
    migration_wait = lock_wait if lock_wait is not None else 60.0
    use_task = task if task is not None else env.migrations_mode == "task"
    if use_task:
        if dry_run:
            raise UsageError(
                "--dry-run cannot be combined with task mode: the app image runs the migrations.",
                hint="Use --direct --dry-run (through a tunnel with --via) to list pending files.",
            )
        return _migrate_task(session, env, task_options, take_lock=take_lock, deploy_wait=deploy_wait)
    from billingops.locks import deploy_lock
    from billingops.services.db_migrate.service import migrate_direct

    audit = session.audit()
    url = resolve_url(env, database_url, secret_id)
    with deploy_lock.hold(env, "db migrate", enabled=take_lock and not dry_run, wait=deploy_wait):
        if not dry_run:
            audit.record("db.migrate.start", env=env.name, cloud=env.cloud, mode="direct")
        report = migrate_direct(env, url, via=via, dry_run=dry_run, lock_wait=migration_wait, say=session.ui.say,
                                app_password=_app_password(env, database_url, secret_id))
        if not dry_run:
            audit.record(
                "db.migrate.end",
                env=env.name,
                cloud=env.cloud,
                mode="direct",
                applied=[s.name for s in report.applied],
                tls=report.tls,
            )
    return report


def _app_password(env: EnvConfig, database_url: str | None, secret_id: str | None) -> str | None:
    """The app role's password from the terraform outputs; None when the URL was given (no outputs read)."""
    if database_url or secret_id:
        return None
    from billingops.services.db_migrate.service import app_role_password
    from billingops.services.secrets.context import terraform_outputs

    return app_role_password(env, lambda: terraform_outputs(env, "the application role's secret"))


def _migrate_task(session: Session, env: EnvConfig, options: TaskOptions, *, take_lock: bool,
                  deploy_wait: float) -> MigrateReport:
    from billingops.clouds.task import parse_command
    from billingops.locks import deploy_lock
    from billingops.services.db_migrate.service import MigrateReport

    audit = session.audit()
    command = parse_command(options.command)
    with deploy_lock.hold(env, "db migrate", enabled=take_lock, wait=deploy_wait):
        runner = _task_runner(env, session.ui, options)
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
    return MigrateReport(env.name, "task", False, task=result.task, seconds=result.seconds)


def migration_status(session: Session, *, database_url: str | None = None, via: str | None = None,
                     secret_id: str | None = None) -> MigrationStatus:
    """Applied and pending migrations (MigrationStatus.bad: applied files edited or gone)."""
    from billingops.services.db_migrate import service
    from billingops.services.db_migrate.runner import PENDING

    env = session.env()
    url = resolve_url(env, database_url, secret_id)
    states = service.status(env, url, via=via)
    return MigrationStatus(
        env=env.name,
        database=service.describe(url),
        migrations=states,
        applied=sum(1 for s in states if s.state != PENDING),
        pending=sum(1 for s in states if s.state == PENDING),
    )


def mismatch_error(status: MigrationStatus) -> StepFailed:
    """The failure of `db status` when applied files no longer match; its details carry the whole table."""
    bad = status.bad
    return StepFailed(
        f"{len(bad)} applied migration(s) no longer match their files: "
        + ", ".join(f"{s.name} ({s.state})" for s in bad)
        + ".",
        hint="Restore the applied files from git; put changes in new NNNN_*.sql files.",
        details=asdict(status),
    )


def resolve_url(env: EnvConfig, database_url: str | None, secret_id: str | None) -> str:
    from billingops.services.db_migrate.service import DATABASE_URL
    from billingops.services.db_migrate.service import database_url as resolve
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


def _task_runner(env: EnvConfig, ui: UI, options: TaskOptions) -> Any:
    from billingops.clouds import migration_task, service_in_cluster
    from billingops.services.secrets.context import terraform_outputs

    if service_in_cluster(env):
        flags = {"cluster": options.cluster, "task_definition": options.task_definition,
                 "container": options.container, "subnets": options.subnets,
                 "security_groups": options.security_groups}
        given = {k: v for k, v in flags.items() if v}
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
        return migration_task(env, outputs, **given, timeout=options.timeout, say=ui.say)
    job = options.job
    outputs = {} if job else terraform_outputs(env, "the Cloud Run job; --job avoids it")
    return migration_task(env, outputs, job=job, timeout=options.timeout, say=ui.say)
