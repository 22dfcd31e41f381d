"""The program's entry point. It answers `billingops --help` and the completion of the command name (what bash
runs on every TAB) from the table below, without importing Typer: Typer 0.29 builds every parameter with
pydantic, which alone costs more than the 100 ms these answers may take. Everything else goes to cli.main.

tests/commands/test_startup.py checks both answers against what Typer itself renders.
"""

from __future__ import annotations

import os
import shutil
import sys

from billingops.command_table import COMMANDS

# `billingops --help` as Typer renders it at 80 columns (click's maximum help width).
ROOT_HELP = """\
Usage: billingops [OPTIONS] COMMAND [ARGS]...

  Operations runbook CLI for the Modern Subscription Billing Platform on AWS
  and GCP.

Options:
  --config FILE         Path to billingops.toml.  [env var: BILLINGOPS_CONFIG]
  -v, --verbose         More detail on stderr (-vv for debug).
  --no-color            No colours (NO_COLOR is honoured too).
  -e, --env ENV         Environment for the command (also accepted after it).
  --cloud CLOUD         Cloud for the command (also accepted after it).
  --json                One JSON document on stdout (also accepted after the
                        command).
  -y, --yes             Non-interactive: answer yes where that is safe.
  --version             Show the version and exit.
  --install-completion  Install completion for the current shell.
  --show-completion     Show completion for the current shell, to copy it or
                        customize the installation.
  -h, --help            Show this message and exit.

Commands:
  deploy         Run the deployment checklist: preflight, init, plan,...
  plan           terraform init + plan, then a summary per resource type...
  doctor         Preflight checks: terraform, credentials, tfvars,...
  rollout        Roll out an image: checked in the registry first,...
  rollback       Go back to the previous task definition / revision (or...
  locks          List held terraform state locks, with holder, age and a...
  unlock         Break the terraform state lock a dead deploy left...
  migrate-cloud  Move the billing data (PostgreSQL, Redis) from one cloud...
  status         Show the environment's service, database, cache, state...
  history        Past runs from the audit log with their step outcomes;...
  drift          Run a refresh-only plan and list every resource changed...
  cost           Estimate the environment's monthly cost from its tfvars...
  sandbox        Manage the local AWS emulator (moto) used by `deploy...
  secrets        Seed, list and check the app's secrets (values are never...
  runbook        On-call runbooks: list, read, and run them step by step.
  dr             Disaster-recovery drills.
  db             Database migrations, backups and point-in-time restore.
"""

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get("_BILLINGOPS_COMPLETE") == "complete_bash" and _complete_command_name():
        return
    if args in (["--help"], ["-h"]) and shutil.get_terminal_size().columns >= 80:
        sys.stdout.write(ROOT_HELP)
        return
    if len(args) == 2 and args[0] == "--show-completion" and args[1] in SHELLS:
        # Typer's --show-completion detects the shell and ignores a name given after it.
        from typer._completion_shared import get_completion_script

        sys.stdout.write(get_completion_script(prog_name="billingops", complete_var="_BILLINGOPS_COMPLETE",
                                               shell=args[1]) + "\n")  # nosec B604  # the shell name, not a shell
        return
    from billingops.cli import main as run

    run(args)


def _complete_command_name() -> bool:
    """bash completion of the first word: the command names that start with it (as Typer answers)."""
    words = os.environ.get("COMP_WORDS", "").split()
    if os.environ.get("COMP_CWORD") != "1" or len(words) > 2:
        return False
    incomplete = words[1] if len(words) == 2 else ""
    if incomplete.startswith("-"):
        return False
    matches = [name for name in COMMANDS if name.startswith(incomplete)]
    sys.stdout.write("".join(f"{name}\n" for name in matches) or "\n")
    return True
