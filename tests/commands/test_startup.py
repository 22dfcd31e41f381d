"""`billingops --help` must stay fast: importing the CLI must not import cloud SDKs or database drivers."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("boto3", "botocore", "google", "grpc", "psycopg", "redis", "moto", "hcl2")


def test_importing_the_cli_imports_no_sdk():
    code = ("import sys, billingops.cli; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in HEAVY if m in out], out


def test_help_runs_without_sdk_imports():
    code = ("import sys\nfrom billingops.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('MODULES', ' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = out.split("MODULES", 1)[1].split()
    assert not [m for m in HEAVY if m in loaded]


def test_help_and_completion_import_no_command_module_but_the_one_completed():
    """Command modules load when their command runs: `--help` imports none, completing `dep` only deploy's."""
    code = ("import os, sys\nfrom billingops.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('MODULES', ' '.join(sorted(m for m in sys.modules if m.startswith('billingops.commands.'))))")
    out = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, check=True).stdout
    assert out.split("MODULES", 1)[1].split() == ["billingops.commands.common"]
    env = {**__import__("os").environ, "_BILLINGOPS_COMPLETE": "complete_bash", "COMP_WORDS": "billingops dep",
           "COMP_CWORD": "1"}
    code = code.replace("main(sys.argv[1:])", "main([])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "deploy" in done.stdout
    # commands.help (examples and placeholders, no imports) is a helper like common, not a command module.
    assert done.stdout.split("MODULES", 1)[1].split() == ["billingops.commands.common", "billingops.commands.deploy",
                                                          "billingops.commands.help"]


def _typer(args: list[str], env: dict[str, str]) -> str:
    """What Typer itself answers (billingops.cli.main, bypassing the entry's table)."""
    code = "import sys\nfrom billingops.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**__import__("os").environ, **env}).stdout


def _entry(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    code = ("import sys\nfrom billingops.entry import main\nmain(sys.argv[1:])\n"
            "print('TYPER' if 'typer' in sys.modules else 'NO-TYPER', file=sys.stderr)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**__import__("os").environ, **env})


def test_root_help_from_the_table_is_what_typer_renders_without_importing_it():
    env = {"COLUMNS": "100"}
    fast = _entry(["--help"], env)
    assert fast.stdout == _typer(["--help"], env)
    assert fast.stderr.strip() == "NO-TYPER"
    narrow = _entry(["--help"], {"COLUMNS": "60"})  # narrower than click's 80: Typer renders it
    assert narrow.stdout == _typer(["--help"], {"COLUMNS": "60"})


def test_completing_the_command_name_answers_as_typer_does_without_importing_it():
    for word in ("", "d", "dep", "mig", "zz"):
        env = {"_BILLINGOPS_COMPLETE": "complete_bash", "COMP_WORDS": f"billingops {word}".strip(),
               "COMP_CWORD": "1"}
        fast = _entry([], env)
        assert fast.stdout == _typer([], env), word
        assert fast.stderr.strip() == "NO-TYPER"
    deeper = {"_BILLINGOPS_COMPLETE": "complete_bash", "COMP_WORDS": "billingops deploy --e", "COMP_CWORD": "2"}
    assert "--env" in _entry([], deeper).stdout


def test_show_completion_prints_the_script_of_the_shell_named():
    zsh = _entry(["--show-completion", "zsh"], {}).stdout
    assert zsh.startswith("#compdef billingops")
    fish = _entry(["--show-completion", "fish"], {}).stdout
    assert "complete --command billingops" in fish or "complete -c billingops" in fish
