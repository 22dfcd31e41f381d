"""The migrate-cloud command line as the tests run it: `aws gcp --env prod --json --no-lock` (the throwaway servers
are given by URL, and no state backend exists to hold a deploy lock;
tests/services/migrate_cloud/test_migrate_lock.py covers the lock)."""

from __future__ import annotations

import sys


def args(*extra: str) -> list[str]:
    """The arguments after `billingops` (for run_cli)."""
    return ["migrate-cloud", "aws", "gcp", "--env", "prod", "--json", "--no-lock", *extra]


def argv(*extra: str) -> list[str]:
    """The whole argv of a billingops process (for subprocess)."""
    return [sys.executable, "-m", "billingops", *args(*extra)]


def postgres(source: str, target: str) -> list[str]:
    """--only postgres between two URLs."""
    return ["--only", "postgres", "--source-postgres", source, "--target-postgres", target]
