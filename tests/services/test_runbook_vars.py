"""A runbook variable (<LOCK_ID>) is needed at the step that uses it: a dry run shows it, a terminal is asked
for it there, and without a terminal the run still refuses before step 1."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

from tests.conftest import REPO


def _book(folder):
    folder.mkdir()
    (folder / "drill.md").write_text(
        "---\nname: drill\ntitle: Drill\nalerts:\nseverity: routine\n---\n# Drill\n## When to use\nx\n"
        "## Step 1: Find it\n```billingops\nbillingops runbook list\n```\n"
        "## Step 2: Use it\n```billingops\nbillingops runbook show <NAME>\n```\n"
        "## Roll back\nnothing\n"
    )


def test_a_dry_run_shows_the_missing_variable_as_a_placeholder(run_cli, tmp_path):
    result = run_cli("runbook", "run", "state-lock", "--env", "prod", "--dry-run", cwd=REPO,
                     env={"BILLINGOPS_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    assert "--lock-id <LOCK_ID>" in result.stdout + result.stderr


def test_without_a_terminal_a_missing_variable_fails_before_step_1(run_cli, tmp_path):
    folder = tmp_path / "books"
    _book(folder)
    env = {"BILLINGOPS_RUNBOOKS_DIR": str(folder), "BILLINGOPS_STATE_DIR": str(tmp_path / "state")}
    result = run_cli("runbook", "run", "drill", "--env", "dev", "--yes", env=env)
    assert result.returncode == 2, result.stderr
    assert "--var NAME=VALUE" in result.stderr and "Step 1" not in result.stderr


def test_on_a_terminal_the_variable_is_asked_at_the_step_that_needs_it(tmp_path):
    folder = tmp_path / "books"
    _book(folder)
    env = {**os.environ, "BILLINGOPS_RUNBOOKS_DIR": str(folder), "BILLINGOPS_STATE_DIR": str(tmp_path / "state"),
           "CI": "", "COLUMNS": "120"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "billingops", "runbook", "run", "drill", "--env", "dev", "--yes"],
                            stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path, env=env)
    os.close(follower)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"needs <NAME>" in seen:
            os.write(leader, b"drill\n")
            answered = True
    proc.wait(timeout=30)
    os.close(leader)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0, text
    asked = text.index("needs <NAME>")
    assert text.index("Step 1") < text.index("Step 2") < asked  # asked at step 2, after step 1 ran
    assert "When to use" in text[asked:] and "Finished runbook drill" in text[asked:]  # step 2 ran with it
