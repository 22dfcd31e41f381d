"""A missing --env is the same usage error (exit 2) in every command that needs one, before anything runs."""

from __future__ import annotations

import json

import pytest

NEEDS_ENV = [
    ("status",), ("plan",), ("deploy",), ("rollout", "--image", "v1.2.3"), ("rollback",), ("locks",), ("unlock",),
    ("drift",), ("cost",), ("doctor",), ("secrets", "list"), ("secrets", "seed", "--dry-run"),
    ("secrets", "check"), ("db", "status"), ("db", "migrate", "--dry-run"), ("db", "backups"),
    ("db", "restore", "--to", "2026-01-01T00:00:00Z", "--as", "copy"), ("dr", "drill"),
    ("runbook", "run", "state-lock", "--dry-run"), ("migrate-cloud", "aws", "gcp", "--dry-run"),
]


@pytest.mark.parametrize("args", NEEDS_ENV, ids=[" ".join(a) for a in NEEDS_ENV])
def test_a_missing_env_is_the_same_usage_error_everywhere(run_cli, tmp_path, args):
    env = {"BILLINGOPS_ENV": "", "PATH": str(tmp_path / "no-tools")}
    result = run_cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert "error: invalid usage: No environment given. Pass --env prod|staging|dev or set BILLINGOPS_ENV." \
        in result.stderr
    document = json.loads(run_cli(*args, "--json", env=env).stdout)
    assert document["error"]["type"] == "UsageError" and document["error"]["exit_code"] == 2
    assert not (tmp_path / ".billingops").exists()
