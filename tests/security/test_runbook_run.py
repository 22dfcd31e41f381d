"""`runbook run`: a --var value is one argument (no injection through spaces or quotes), and a destructive step
(unlock, --replace-target, db restore) is not run on --yes alone."""

from __future__ import annotations

import json

import pytest

from billingops.services.runbooks import Command


@pytest.mark.parametrize("value", ["a b --json", 'x" --yes "', "it's; rm -rf /", "--env prod"])
def test_a_var_value_is_exactly_one_argument(value):
    argv = Command("billingops db restore --env $ENV --as <NAME> --to=<TIME>").argv(
        "dev", "aws", {"NAME": value, "TIME": value})
    assert argv == ["db", "restore", "--env", "dev", "--as", value, f"--to={value}"]


def test_a_placeholder_inside_quotes_is_still_one_argument():
    argv = Command("billingops runbook show '<NAME> x'").argv("dev", "aws", {"NAME": "a b"})
    assert argv == ["runbook", "show", "a b x"]


@pytest.mark.parametrize(("line", "destructive"), [
    ("billingops unlock --env $ENV", True),
    ("billingops deploy --env $ENV --replace-target aws_db_instance.main", True),
    ("billingops deploy --env $ENV --replace-target=aws_db_instance.main", True),
    ("billingops db restore --env $ENV --to <TIME>", True),
    ("billingops --verbose db restore --env $ENV --to <TIME>", True),
    ("billingops db backups --env $ENV", False),
    ("billingops status --env $ENV", False),
])
def test_destructive_steps_are_recognised(line, destructive):
    from billingops.services.runbook_run import is_destructive

    assert is_destructive(Command(line).argv("dev", "aws", {"TIME": "now"})) is destructive


def _book(folder):
    folder.mkdir()
    (folder / "drill.md").write_text(
        "---\nname: drill\ntitle: Drill\nalerts:\nseverity: routine\n---\n# Drill\n## When to use\nx\n"
        "## Step 1: Replace\n```billingops\nbillingops runbook list --replace-target aws_db_instance.main\n```\n"
        "## Roll back\nnothing\n"
    )


def test_a_destructive_step_needs_more_than_yes(run_cli, tmp_path):
    folder = tmp_path / "books"
    _book(folder)
    state = tmp_path / "state"
    env = {"BILLINGOPS_RUNBOOKS_DIR": str(folder), "BILLINGOPS_STATE_DIR": str(state)}
    refused = run_cli("runbook", "run", "drill", "--env", "dev", "--yes", env=env)
    assert refused.returncode == 4, refused.stderr
    assert "--allow-destructive" in refused.stderr
    audit = state / "audit.jsonl"
    ran = [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    assert not [r for r in ran if r["event"] == "runbook.step" and r.get("outcome") in ("ok", "failed")]

    allowed = run_cli("runbook", "run", "drill", "--env", "dev", "--yes", "--allow-destructive", env=env)
    # The step ran (the child rejects the unknown option with exit 2, so the runbook stops at step 1).
    assert allowed.returncode == 1, allowed.stderr
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    steps = [r for r in records if r["event"] == "runbook.step"]
    assert steps[-1]["outcome"] == "failed" and steps[-1]["exit_code"] == 2
    assert steps[-1]["confirmed"] == "--allow-destructive"
