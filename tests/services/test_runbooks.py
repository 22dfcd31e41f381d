"""Runbooks: every billingops command they name exists, every seed alert has one, and `runbook run` works."""

from __future__ import annotations

import functools
import json

import pytest
import typer

from billingops.errors import UsageError
from billingops.services import runbooks

# The seed's "Monitoring and Alerts" section (infrastructure-README.md), copied on purpose: if the seed gains
# an alert, this list is updated by hand and the test then asks for a runbook.
SEED_ALERTS = [
    "Database down",
    "Application instances all failing health checks",
    "Storage > 90% full",
    "5xx error rate > 1% of requests",
    "CPU > 80% for 5 minutes",
    "Memory > 80% for 5 minutes",
    "Response time P95 > 1 second",
    "Failed health checks",
    "Backup failures",
]
REQUIRED_SECTIONS = ["When to use", "Impact", "Verify", "Roll back", "Who to tell"]


@functools.lru_cache(maxsize=1)
def _root():
    from billingops.cli import app

    return typer.main.get_command(app)


def _resolve(argv: list[str]):
    """Walk the click tree along argv; return the leaf command, its path and the remaining words."""
    command, path = _root(), []
    words = list(argv)
    while _is_group(command) and words and not words[0].startswith("-"):
        sub = command.get_command(None, words[0])
        if sub is None:
            raise AssertionError(f"`billingops {' '.join(path + [words[0]])}` is not a command")
        command, path = sub, path + [words.pop(0)]
    return command, path, words


def _is_group(command) -> bool:
    # Typer 0.29 vendors its own click, so isinstance(click.Group) does not hold: test the behaviour.
    return hasattr(command, "get_command") and hasattr(command, "list_commands")


def _flags(command) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names | {"--help", "-h"}


def _all_command_lines():
    for book in runbooks.load_all():
        for command in book.all_commands():
            yield book.name, command


@pytest.mark.parametrize("name,command", list(_all_command_lines()), ids=lambda v: getattr(v, "line", v))
def test_runbook_commands_exist(name, command):
    argv = command.argv("staging", "aws", {p: "x" for p in command.placeholders()})
    leaf, path, rest = _resolve(argv)
    assert not _is_group(leaf), f"{name}: `{command.line}` names a group, not a command"
    known = _flags(leaf)
    for word in rest:
        if word.startswith("-"):
            flag = word.split("=", 1)[0]
            assert flag in known, (
                f"{name}: `{command.line}`: {flag} is not an option of `billingops {' '.join(path)}`"
            )


def test_every_seed_alert_has_a_runbook():
    answered = {alert for book in runbooks.load_all() for alert in book.alerts}
    missing = [alert for alert in SEED_ALERTS if alert not in answered]
    assert not missing, f"no runbook answers: {missing}"
    unknown = answered - set(SEED_ALERTS)
    assert not unknown, f"runbooks name alerts the seed does not have: {unknown}"


def test_every_runbook_has_the_required_sections_and_steps():
    books = runbooks.load_all()
    assert len(books) >= 12
    for book in books:
        missing = [s for s in REQUIRED_SECTIONS if s not in book.sections]
        assert not missing, f"{book.name} lacks sections {missing}"
        assert book.steps, f"{book.name} has no ## Step N sections"
        assert [s.number for s in book.steps] == list(range(1, len(book.steps) + 1)), book.name
        assert book.title and book.title != book.name


def test_parse_front_matter_steps_and_cloud_blocks(tmp_path):
    path = tmp_path / "demo.md"
    path.write_text(
        "---\nname: demo\ntitle: Demo\nalerts: A; B\nseverity: warning\n---\n# Demo\n## When to use\nx\n"
        "## Step 1: First\nRead this.\n```billingops\nbillingops status --env $ENV\n# a comment\n```\n"
        "```billingops cloud=gcp\nbillingops db backups --env $ENV --cloud $CLOUD\n```\n"
        "```bash\naws s3 ls\n```\n## Step 2: Second\n```billingops\n"
        "billingops db restore --env $ENV --to <TIME> "
        "--as 'new name'\n```\n## Roll back\nundo it\n"
    )
    book = runbooks.parse(path)
    assert book.alerts == ("A", "B") and book.severity == "warning"
    assert [s.title for s in book.steps] == ["First", "Second"]
    first = book.steps[0]
    assert first.text.startswith("Read this.") and "aws s3 ls" in first.text and "status" not in first.text
    assert [c.line for c in first.commands_for("aws")] == ["billingops status --env $ENV"]
    assert len(first.commands_for("gcp")) == 2
    assert first.commands[1].argv("dev", "gcp") == ["db", "backups", "--env", "dev", "--cloud", "gcp"]
    restore = book.steps[1].commands[0]
    with pytest.raises(UsageError, match="TIME"):
        restore.argv("dev", "aws")
    assert restore.argv("dev", "aws", {"TIME": "2026-01-01T00:00:00Z"})[-2:] == ["--as", "new name"]
    assert book.rollback == "undo it"


def test_parse_rejects_missing_front_matter(tmp_path):
    from billingops.errors import ConfigError

    path = tmp_path / "bad.md"
    path.write_text("# no front matter\n")
    with pytest.raises(ConfigError, match="front matter"):
        runbooks.parse(path)


def test_runbook_list_and_show(run_cli):
    listed = run_cli("runbook", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    names = {b["name"]: b for b in json.loads(listed.stdout)["runbooks"]}
    assert "Database down" in names["database-down"]["alerts"]
    shown = run_cli("runbook", "show", "database-down")
    assert shown.returncode == 0
    assert shown.stdout.startswith("# Database down")  # raw Markdown when stdout is not a terminal
    missing = run_cli("runbook", "show", "database")
    assert missing.returncode == 2
    assert "did you mean" in missing.stderr and "Traceback" not in missing.stderr


def test_runbook_run_dry_run_prints_commands(run_cli):
    result = run_cli(
        "runbook",
        "run",
        "database-restore",
        "--env",
        "staging",
        "--dry-run",
        "--var",
        "TIME=2026-11-25T09:55:00Z",
        "--var",
        "NAME=billing-staging-restore",
    )
    assert result.returncode == 0, result.stderr
    assert (
        "would run: billingops db restore --env staging --to 2026-11-25T09:55:00Z "
        "--as billing-staging-restore"
    ) in result.stderr
    # A dry run shows a variable it was not given as its placeholder (issue 16); a real run without a
    # terminal to ask still refuses before step 1.
    missing_var = run_cli("runbook", "run", "database-restore", "--env", "staging", "--dry-run")
    assert missing_var.returncode == 0 and "--to <TIME>" in missing_var.stderr
    refused = run_cli("runbook", "run", "database-restore", "--env", "staging", "--yes")
    assert refused.returncode == 2 and "--var TIME=VALUE" in refused.stderr


def _write_book(folder, steps: str):
    folder.mkdir()
    (folder / "drill.md").write_text(
        "---\nname: drill\ntitle: Drill\nalerts:\nseverity: routine\n---\n# Drill\n## When to use\nx\n"
        + steps
        + "## Roll back\nRUN THE UNDO COMMAND\n"
    )


def test_runbook_run_stops_at_first_failure_shows_rollback_and_audits(run_cli, tmp_path):
    folder = tmp_path / "books"
    _write_book(
        folder,
        "## Step 1: List\n```billingops\nbillingops runbook list\n```\n"
        "## Step 2: Fail\n```billingops\nbillingops runbook show no-such-book\n```\n"
        "## Step 3: Never\n```billingops\nbillingops runbook list --json\n```\n",
    )
    env = {"BILLINGOPS_RUNBOOKS_DIR": str(folder), "BILLINGOPS_STATE_DIR": str(tmp_path / "state")}
    no_yes = run_cli("runbook", "run", "drill", "--env", "dev", env=env)
    assert no_yes.returncode == 4 and "--yes" in no_yes.stderr  # no TTY: it will not run without consent
    result = run_cli("runbook", "run", "drill", "--env", "dev", "--yes", env=env)
    assert result.returncode == 1
    assert "RUN THE UNDO COMMAND" in result.stderr
    assert "stopped at step 2" in result.stderr and "--from-step 2" in result.stderr
    records = [json.loads(line) for line in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
    steps = [
        (r["event"], r.get("step"), r.get("outcome")) for r in records if r["event"].startswith("runbook")
    ]
    assert steps[-4:] == [
        ("runbook.start", None, None),
        ("runbook.step", 1, "ok"),
        ("runbook.step", 2, "failed"),
        ("runbook.end", 2, "failed"),
    ]
    resumed = run_cli("runbook", "run", "drill", "--env", "dev", "--yes", "--from-step", "3", env=env)
    assert resumed.returncode == 0, resumed.stderr


def test_runbook_run_refuses_non_billingops_lines(run_cli, tmp_path):
    folder = tmp_path / "books"
    _write_book(folder, "## Step 1: Evil\n```billingops\nrm -rf /tmp/x\n```\n")
    result = run_cli(
        "runbook", "run", "drill", "--env", "dev", "--yes", env={"BILLINGOPS_RUNBOOKS_DIR": str(folder)}
    )
    assert result.returncode == 2 and "does not start with `billingops`" in result.stderr


def test_shell_completion_is_offered(run_cli):
    result = run_cli("--help")
    assert "--install-completion" in result.stdout


def test_runbook_run_passes_the_cloud_to_its_commands(run_cli, tmp_path):
    from tests.conftest import REPO

    folder = tmp_path / "books"
    _write_book(folder, "## Step 1: Cost\n```billingops\nbillingops cost --env $ENV --json\n```\n")
    result = run_cli(
        "runbook",
        "run",
        "drill",
        "--env",
        "prod",
        "--cloud",
        "gcp",
        "--yes",
        "--json",
        cwd=REPO,
        env={"BILLINGOPS_RUNBOOKS_DIR": str(folder), "BILLINGOPS_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # the child's output went to stderr: stdout holds one document
    assert summary["cloud"] == "gcp" and summary["steps"][0]["commands"][0]["outcome"] == "ok"
    assert '"cloud": "gcp"' in result.stderr
