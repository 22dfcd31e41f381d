"""The Typer app: global options, command registration, and the one place errors become exit codes."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

try:  # typer 0.29 vendors click as typer._click: its exceptions are not click's
    import typer._click as click
    from typer._click.exceptions import ClickException
    from typer._click.utils import make_default_short_help
except ImportError:  # pragma: no cover - older typer on plain click
    import click  # type: ignore[no-redef]
    from click import ClickException  # type: ignore[assignment]
    from click.utils import make_default_short_help  # type: ignore[no-redef]

from billingops import __version__, redact
from billingops.command_table import COMMANDS
from billingops.commands import common
from billingops.config import tunables
from billingops.errors import EXIT_INTERRUPTED, EXIT_USAGE, BillingOpsError, UsageError

log = logging.getLogger(__name__)

class LazyGroup(TyperGroup):
    """The root group: lists every command from COMMANDS, imports a command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, make_default_short_help(line, limit)) for name, (_, line) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def load_command(name: str) -> click.Command:
    """Import the modules of one command and build its click command the way Typer would."""
    import importlib

    modules, line = COMMANDS[name]
    holder = typer.Typer(rich_markup_mode=None)
    target = holder
    if name == "db":
        target = typer.Typer(help=line, no_args_is_help=True, rich_markup_mode=None)
        holder.add_typer(target, name="db")
    for module in modules:
        importlib.import_module(f"billingops.commands.{module}").register(target)
    holder.command("-", hidden=True)(lambda: None)  # two entries or more: Typer builds a group, not a command
    group = typer.main.get_command(holder)
    if not isinstance(group, TyperGroup):  # pragma: no cover - the hidden entry above makes it a group
        raise TypeError(f"typer built {type(group).__name__} for {name}, not a group")
    from billingops.commands.help import polish

    polish(group.commands[name], name)
    return group.commands[name]


app = typer.Typer(
    name="billingops",
    cls=LazyGroup,
    help="Operations runbook CLI for the Modern Subscription Billing Platform on AWS and GCP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"billingops {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: common.ConfigOpt = None,
    verbose: common.VerboseOpt = 0,
    no_color: common.NoColorOpt = False,
    env: Annotated[str | None, typer.Option("--env", "-e", metavar="ENV", autocompletion=common._complete_env,
                                            help="Environment for the command (also accepted after it).")] = None,
    cloud: Annotated[str | None, typer.Option("--cloud", metavar="CLOUD", autocompletion=common._complete_cloud,
                                              help="Cloud for the command (also accepted after it).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON document on stdout (also accepted after the "
                                                       "command).")] = False,
    yes: common.YesOpt = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Deploy, unlock, migrate and operate the billing platform: safe, resumable, audited."""
    ctx.obj = common.GlobalOptions(config=config, verbose=verbose, no_color=no_color, env=env, cloud=cloud,
                                   json=json_, yes=yes)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and map every outcome to a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    # Everything billingops writes (journals, audit log, plans, dumps, crash logs) is the operator's alone.
    os.umask(0o077)
    json_mode = "--json" in args
    try:
        result = app(args=args, prog_name="billingops", standalone_mode=False)
    except BillingOpsError as err:
        _report(err, json_mode)
        sys.exit(err.exit_code)
    except typer.Abort:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except ClickException as err:
        usage = _from_click(err)
        _report(usage, json_mode)
        sys.exit(usage.exit_code)
    except Exception as err:  # noqa: BLE001  # the edge: an unexpected bug must still end in one paragraph
        crash_log = _write_crash_log(err)
        sys.stderr.write(
            f"error: unexpected internal error: {redact.redact(type(err).__name__)}: {redact.redact(str(err))}. "
            f"This is a bug in billingops; the redacted traceback is in {crash_log}. "
            "Run with -vv to see more, and report it with that file.\n"
        )
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


_ASSIGNMENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*=)[^\s')\"]+")


def _from_click(err: ClickException) -> BillingOpsError:
    """Click's argument-parsing errors in billingops' one format (and JSON document), values of NAME=VALUE
    arguments masked: an operator who types a secret on the command line must not see it echoed back."""
    message = _ASSIGNMENT.sub(lambda m: m.group(1) + redact.MASK, redact.redact(err.format_message()))
    ctx = getattr(err, "ctx", None)
    command = ctx.command_path if ctx is not None else "billingops"
    hint = f"Run `{command} --help` for the accepted arguments and examples."
    if _ASSIGNMENT.search(err.format_message()):
        hint = ("Secret values are never command-line arguments (they would land in shell history and process "
                "lists): give them as BILLINGOPS_SECRET_<NAME> environment variables, --file or --stdin. " + hint)
    usage = UsageError(message.rstrip(".") + ".", hint=hint)
    if err.exit_code != EXIT_USAGE:
        usage.exit_code = err.exit_code
    return usage


def _report(err: BillingOpsError, json_mode: bool) -> None:
    from billingops.console import Output

    output = Output(json_mode=json_mode, color="--no-color" not in sys.argv)
    output.error(err)
    if json_mode:
        import json

        doc = {"outcome": "error", "error": {"type": type(err).__name__, "title": err.title,
                                              "message": err.message, "hint": err.hint,
                                              "exit_code": err.exit_code, **redact.redact_data(err.details)}}
        # Redact the data, then encode: a secret holding `"` or non-ASCII would escape a redactor run over JSON text.
        sys.stdout.write(json.dumps(redact.redact_data(doc), default=str) + "\n")


def _write_crash_log(err: Exception) -> Path:
    folder = tunables().state_dir / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
        text = "".join(traceback.format_exception(err))
        path.write_text(redact.redact(text), encoding="utf-8")
        return path
    except OSError:
        return Path("(could not write a crash log)")
