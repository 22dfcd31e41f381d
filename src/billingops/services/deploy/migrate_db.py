"""Deploy step `migrate`: apply pending migrations, directly or as a one-off task (migrations_mode).

Direct mode connects as the master (the secret named by the output database_master_secret_id; before that
output existed, DATABASE_URL; or BILLINGOPS_DATABASE_URL) and hands the app role's password (output
database_app_secret_id) to the migration that creates the role. It connects
through BILLINGOPS_DATABASE_VIA=HOST:PORT when a tunnel is open. In the sandbox the migrations run for real
against the local PostgreSQL the sandbox started.
"""

from __future__ import annotations

import logging
from typing import Any

from billingops.config import tunables
from billingops.runs.checklist import StepContext

log = logging.getLogger(__name__)


def run(ctx: StepContext) -> str:
    from billingops.services.db_migrate import service

    env = ctx.env
    if ctx.sandbox is not None:
        url = ctx.sandbox.connect_url()  # with the sandbox's PostgreSQL password, never shown
        if not url:
            ctx.skip_in_sandbox("the sandbox has no local PostgreSQL (it could not be started)")
        report = service.migrate_direct(env, url, dry_run=ctx.dry_run, say=ctx.output.say,
                                        app_password=service.app_role_password(env, ctx.outputs))
        note = " (task mode is not emulated; ran directly)" if env.migrations_mode == "task" else ""
        return _detail(ctx, report) + note
    if env.migrations_mode == "task":
        return _run_task(ctx)
    explicit = tunables().database_url
    url = service.database_url(env, explicit=explicit, secret_id=None, outputs=ctx.outputs)
    report = service.migrate_direct(
        env,
        url,
        app_password=None if explicit else service.app_role_password(env, ctx.outputs),
        via=tunables().database_via,
        dry_run=ctx.dry_run,
        say=ctx.output.say,
    )
    return _detail(ctx, report)


def _detail(ctx: StepContext, report: Any) -> str:
    if report.dry_run:
        ctx.data["migrations_pending"] = report.pending
        return (
            f"dry run: would apply {len(report.pending)} to {report.database}: {', '.join(report.pending)}"
            if report.pending
            else f"dry run: {report.database} is up to date"
        )
    applied = [s.name for s in report.applied]
    ctx.data["migrations_applied"] = applied
    ctx.save()
    if not applied:
        return f"{report.database} is up to date"
    return f"applied {len(applied)} to {report.database}: {', '.join(applied)}"


def _deployed_image(ctx: StepContext, outputs: Any) -> str | None:
    """The image this deploy rolls out (as the rollout step resolves it): the migrations run that image."""
    if not ctx.image:
        return None
    from billingops.clouds.rollout import default_repository
    from billingops.imageref import parse_image

    return str(parse_image(ctx.image, default_repository(ctx.env, outputs)))


def _run_task(ctx: StepContext) -> str:
    from billingops.clouds import migration_task
    from billingops.clouds.task import DEFAULT_COMMAND, parse_command

    env = ctx.env
    if ctx.dry_run:
        return "dry run: the migrations would run as a one-off task of the app image"
    command = parse_command(tunables().migrate_command or DEFAULT_COMMAND)
    outputs = ctx.outputs()
    runner = migration_task(env, outputs, say=ctx.output.say, image=_deployed_image(ctx, outputs))
    result = runner.run(command)
    ctx.data["migration_task"] = result.task
    ctx.save()
    return f"migration task {result.task} exited 0 after {result.seconds} s"
