"""The views' commands: help text on every command and option, and a light start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

VIEWS = [
    ["status"],
    ["drift"],
    ["cost"],
    ["runbook", "list"],
    ["runbook", "show"],
    ["runbook", "run"],
    ["db", "backups"],
    ["db", "restore"],
    ["dr", "drill"],
]


def _command(path):
    from billingops.cli import app

    command = typer.main.get_command(app)
    for word in path:
        command = command.get_command(None, word)
        assert command is not None, f"billingops {' '.join(path)} is missing"
    return command


@pytest.mark.parametrize("path", VIEWS, ids=" ".join)
def test_every_views_command_and_option_has_help(path):
    command = _command(path)
    assert (command.help or "").strip(), f"billingops {' '.join(path)} has no help"
    for param in command.params:
        if param.param_type_name == "option":
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts} has no help"


def test_importing_the_views_pulls_no_cloud_sdk():
    code = (
        "import sys, billingops.cli, billingops.commands.status, billingops.commands.dr, "
        "billingops.commands.cost, billingops.commands.drift, billingops.commands.runbook; "
        "heavy = [m for m in sys.modules"
        " if m.split('.')[0] in ('boto3', 'botocore', 'psycopg', 'redis', 'hcl2')"
        " or m.startswith('google.cloud')]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
