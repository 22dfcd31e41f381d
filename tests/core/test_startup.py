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
    assert done.stdout.split("MODULES", 1)[1].split() == ["billingops.commands.common", "billingops.commands.deploy"]
