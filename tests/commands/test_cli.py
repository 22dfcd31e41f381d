"""The CLI surface: every command has help, --version, bad input gives one paragraph and exit 2."""

from __future__ import annotations

import subprocess
import sys

import typer

from billingops.cli import app


def _walk(command, path: tuple[str, ...] = ()):
    yield path, command
    if hasattr(command, "list_commands"):
        ctx = typer.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), (*path, name))


def test_the_lazy_command_table_matches_each_commands_own_help():
    from billingops.cli import COMMANDS

    root = typer.main.get_command(app)
    ctx = typer.Context(root)
    for name, (_, line) in COMMANDS.items():
        own = " ".join((root.get_command(ctx, name).help or "").strip().split("\n\n")[0].split())
        assert own == line, name


def test_every_command_has_help_text_and_help_works(run_cli):
    root = typer.main.get_command(app)
    paths = list(_walk(root))
    assert len(paths) > 15
    for path, command in paths:
        if path:
            assert (command.help or command.short_help or "").strip(), f"{' '.join(path)} has no help text"
    for path, _ in paths:
        result = run_cli(*path, "--help")
        assert result.returncode == 0, (path, result.stderr)
        assert "Usage" in result.stdout


def test_top_level_help_lists_commands_and_completion(run_cli):
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("deploy", "plan", "doctor", "sandbox", "history", "unlock", "migrate-cloud", "db"):
        assert name in result.stdout
    assert "--install-completion" in result.stdout


def test_version(run_cli):
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("billingops ")


def test_python_m_and_console_script_agree(run_cli):
    script = subprocess.run([sys.executable, "-c", "from billingops.cli import main; main()", "--version"],
                            capture_output=True, text=True)
    assert script.stdout == run_cli("--version").stdout


def test_unknown_option_is_a_usage_error(run_cli):
    result = run_cli("deploy", "--env", "dev", "--no-such-flag")
    assert result.returncode == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_environment_is_one_paragraph_exit_2(run_cli):
    result = run_cli("doctor", "--env", "production")
    assert result.returncode == 2
    assert "Unknown environment 'production'" in result.stderr
    assert "prod, staging, dev" in result.stderr
    assert "Traceback" not in result.stderr


def test_env_var_gives_the_environment(run_cli, tmp_path):
    result = run_cli("doctor", env={"BILLINGOPS_ENV": "nope"})
    assert result.returncode == 2 and "Unknown environment 'nope'" in result.stderr


def test_missing_environment_names_the_flag(run_cli):
    result = run_cli("plan")
    assert result.returncode == 2
    assert "--env" in result.stderr


def test_global_options_before_the_command(run_cli, tmp_path):
    (tmp_path / "alt.toml").write_text('[environments.dev]\ncloud = "gcp"\n')
    result = run_cli("--config", str(tmp_path / "alt.toml"), "--no-color", "-v", "doctor", "--env", "dev", "--json")
    # gcp without credentials: the doctor fails but answers with JSON and the configured cloud
    assert '"cloud": "gcp"' in result.stdout


def test_json_error_document_on_stdout(run_cli):
    result = run_cli("doctor", "--env", "bogus", "--json")
    assert result.returncode == 2
    import json

    doc = json.loads(result.stdout)
    assert doc["outcome"] == "error" and doc["error"]["exit_code"] == 2


def test_common_options_before_the_command_name(run_cli):
    result = run_cli("--env", "production", "history")
    assert result.returncode == 2 and "Unknown environment 'production'" in result.stderr
    # an explicit flag before the command beats the environment variable the command reads
    result = run_cli("--env", "production", "history", env={"BILLINGOPS_ENV": "dev"})
    assert "Unknown environment 'production'" in result.stderr
    result = run_cli("--json", "--env", "production", "history")
    import json

    assert json.loads(result.stdout)["error"]["type"] == "UsageError"  # an --env problem is a usage error everywhere


def test_usage_errors_from_argument_parsing_are_json_documents_too(run_cli):
    import json

    for argv in (("rollout", "--env", "dev", "--json"), ("status", "--json", "--no-such-option")):
        result = run_cli(*argv)
        assert result.returncode == 2, argv
        doc = json.loads(result.stdout)
        assert doc["outcome"] == "error" and doc["error"]["type"] == "UsageError", argv
        assert "--help" in doc["error"]["hint"]
        assert result.stderr.startswith("error: invalid usage:"), result.stderr


def test_a_secret_typed_as_an_argument_is_never_echoed(run_cli):
    result = run_cli("secrets", "seed", "--env", "dev", "STRIPE_API_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc")
    assert result.returncode == 2
    assert "4eC39HqLyjWDarjtT1zdp7dc" not in result.stdout + result.stderr
    assert "STRIPE_API_KEY=***" in result.stderr
    assert "BILLINGOPS_SECRET_<NAME>" in result.stderr and "--stdin" in result.stderr


def test_tables_become_tab_separated_rows_when_piped(run_cli):
    result = run_cli("runbook", "list")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "\t" in line]
    assert lines[0].split("\t")[0] == "name"
    assert all(len(line.split("\t")) == len(lines[0].split("\t")) for line in lines)
    assert any(line.startswith("state-lock\t") for line in lines)


def test_help_placeholders_read_as_words(run_cli):
    result = run_cli("deploy", "--help", env={"COLUMNS": "200"})
    assert "--env ENV" in result.stdout and "--lock-wait DURATION" in result.stdout
    assert "[default: 0]" not in result.stdout


def test_outside_a_project_it_says_which_state_folder_it_will_use(run_cli, tmp_path):
    result = run_cli("history", "--env", "dev", cwd=tmp_path)
    assert result.returncode == 0
    assert f"state will go to {tmp_path.resolve() / '.billingops'}" in result.stderr
    assert not (tmp_path / ".billingops").exists()
