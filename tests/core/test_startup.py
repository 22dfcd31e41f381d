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
