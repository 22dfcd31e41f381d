"""Fast tests: backend config merging, durations, journal-based liveness, refusals and the import budget."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from billingops.config import load_settings, parse_duration
from billingops.errors import ConfigError, UsageError
from billingops.locks.backend_config import current_workspace, load_backend_config
from billingops.locks.model import format_age, parse_created
from tests.locks.conftest import write_project


def _env(
    tmp_path: Path,
    backend: str = '  backend "s3" {\n    bucket = "from-block"\n    encrypt = true\n  }',
    hcl: str = 'key = "dev/terraform.tfstate"\nbucket = "from-file"\n',
):
    write_project(tmp_path, backend, hcl)
    return load_settings(tmp_path / "billingops.toml").env("dev")


def test_backend_config_merges_block_file_and_overrides_in_terraform_order(tmp_path):
    env = _env(tmp_path)
    config = load_backend_config(
        env, ["bucket=from-flag", 'endpoints={ s3 = "http://127.0.0.1:1" }', "use_lockfile=true"]
    )
    assert config.type == "s3"
    assert config.settings["bucket"] == "from-flag"
    assert config.settings["key"] == "dev/terraform.tfstate"
    assert config.settings["encrypt"] is True
    assert config.settings["endpoints"] == {"s3": "http://127.0.0.1:1"}
    assert config.settings["use_lockfile"] is True
    assert load_backend_config(env).settings["bucket"] == "from-file"


def test_backend_config_file_override_and_bad_input(tmp_path):
    env = _env(tmp_path)
    extra = tmp_path / "extra.hcl"
    extra.write_text('key = "other/terraform.tfstate"\n')
    assert load_backend_config(env, [str(extra)]).settings["key"] == "other/terraform.tfstate"
    with pytest.raises(ConfigError, match="neither KEY=VALUE nor an existing file"):
        load_backend_config(env, ["no-such-file"])
    (env.terraform_dir / "envs" / "dev.backend.hcl").write_text('bucket = "unterminated\n')
    with pytest.raises(ConfigError, match="not valid HCL"):
        load_backend_config(env)


def test_no_backend_block_means_local_and_unknown_backends_are_refused(tmp_path):
    assert load_backend_config(_env(tmp_path / "a", backend="", hcl="")).type == "local"
    with pytest.raises(ConfigError, match="'consul' terraform backend"):
        load_backend_config(_env(tmp_path / "b", backend='  backend "consul" {}', hcl=""))


def test_workspace_from_flag_env_and_terraform_marker(tmp_path, monkeypatch):
    env = _env(tmp_path)
    assert current_workspace(env) == "default"
    (env.terraform_dir / ".terraform").mkdir()
    (env.terraform_dir / ".terraform" / "environment").write_text("feature")
    assert current_workspace(env) == "feature"
    monkeypatch.setenv("TF_WORKSPACE", "from-env")
    assert current_workspace(env) == "from-env"
    assert current_workspace(env, "explicit") == "explicit"


@pytest.mark.parametrize("text,seconds", [("0s", 0), ("90", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5 minutes", "-5m", "1x"])
def test_parse_duration_rejects_garbage(text):
    with pytest.raises(UsageError, match="is not a duration"):
        parse_duration(text)


def test_terraform_created_timestamps_with_nanoseconds():
    assert parse_created("2026-11-25T13:00:50.629756131Z") == datetime(2026, 11, 25, 13, 0, 50, 629756, tzinfo=UTC)
    assert parse_created("garbage") is None
    assert format_age(3725) == "1h02m" and format_age(None) == "unknown"


def _local_lock(project_dir: Path, age: timedelta, who: str | None = None) -> dict:
    info = {
        "ID": "4c1b2a5e-0000-0000-0000-000000000001",
        "Operation": "OperationTypeApply",
        "Who": who or f"oncall@{socket.gethostname()}",
        "Version": "1.11.4",
        "Created": (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "Path": "",
        "Info": "",
    }
    (project_dir / "tf" / ".terraform.tfstate.lock.info").write_text(json.dumps(info))
    return info


def _journal(root: Path, pid: int, lock_id: str, status: str = "running") -> None:
    runs = root / ".billingops" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "20260101T000000Z-abcdef.json").write_text(
        json.dumps(
            {
                "run_id": "20260101T000000Z-abcdef",
                "command": "deploy",
                "env": "dev",
                "cloud": "aws",
                "status": status,
                "pid": pid,
                "host": socket.gethostname(),
                "terraform": {
                    "pid": None,
                    "operation": "apply",
                    "workdir": str(root / "tf"),
                    "lock_id": lock_id,
                },
            }
        )
    )


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_running_billingops_journal_with_live_pid_refuses(tmp_path, run_cli):
    write_project(tmp_path, "", "")
    info = _local_lock(tmp_path, timedelta(hours=2))
    _journal(tmp_path, os.getpid(), info["ID"])
    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert "billingops run 20260101T000000Z-abcdef" in result.stderr and "still running" in result.stderr
    assert (tmp_path / "tf" / ".terraform.tfstate.lock.info").exists()


def test_dead_billingops_run_is_recognised_and_its_lock_broken(tmp_path, run_cli):
    write_project(tmp_path, "", "")
    info = _local_lock(tmp_path, timedelta(hours=2))
    _journal(tmp_path, _dead_pid(), info["ID"])
    listed = json.loads(run_cli("locks", "--env", "dev", "--json", cwd=tmp_path).stdout)["locks"][0]
    assert listed["liveness"]["status"] == "dead"
    assert any("died" in reason for reason in listed["liveness"]["reasons"])
    result = run_cli(
        "unlock",
        "--env",
        "dev",
        "--yes",
        "--older-than",
        "1h",
        env={"BILLINGOPS_UNLOCK_RECHECK_SECONDS": "0"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "tf" / ".terraform.tfstate.lock.info").exists()


def test_other_host_holder_is_unknown_and_only_age_protects_it(tmp_path, run_cli):
    write_project(tmp_path, "", "")
    _local_lock(tmp_path, timedelta(minutes=3), who="ci@runner-42")
    (lock,) = json.loads(run_cli("locks", "--env", "dev", "--json", cwd=tmp_path).stdout)["locks"]
    # the local backend's fcntl answer is exact even for a foreign Who; no fcntl holder -> dead
    assert lock["liveness"]["status"] == "dead"
    assert any("runner-42" in reason for reason in lock["liveness"]["reasons"])
    young = run_cli("unlock", "--env", "dev", cwd=tmp_path)
    assert young.returncode == 4 and "younger than the default --older-than 5m" in young.stderr


def test_prod_asks_for_the_env_name_and_no_tty_names_the_flags(tmp_path, run_cli):
    write_project(tmp_path, "", "")
    toml = (tmp_path / "billingops.toml").read_text().replace("environments.dev", "environments.prod")
    (tmp_path / "billingops.toml").write_text(toml)
    (tmp_path / "tf" / "envs" / "prod.backend.hcl").write_text("")
    _local_lock(tmp_path, timedelta(minutes=10))
    result = run_cli("unlock", "--env", "prod", cwd=tmp_path)
    assert result.returncode == 4 and "younger than the default --older-than 15m" in result.stderr
    result = run_cli("unlock", "--env", "prod", "--older-than", "5m", cwd=tmp_path)
    assert result.returncode == 4 and "--yes together with --older-than" in result.stderr


def test_bad_duration_is_a_usage_error(tmp_path, run_cli):
    write_project(tmp_path, "", "")
    result = run_cli("unlock", "--env", "dev", "--older-than", "soon", "--yes", cwd=tmp_path)
    assert result.returncode == 2 and "is not a duration" in result.stderr and "Traceback" not in result.stderr


def test_unlock_help_documents_the_safety_rules(run_cli):
    text = run_cli("unlock", "--help").stdout
    for phrase in (
        "--older-than",
        "15m in prod",
        "BILLINGOPS_UNLOCK_RECHECK_SECONDS",
        "audit log",
        "--yes",
        "exit 4",
    ):
        assert phrase in text, phrase


def test_locks_modules_stay_out_of_cli_import():
    code = (
        "import sys, billingops.cli; heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('boto3', 'botocore', 'google', 'hcl2')]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _unlock_on_a_tty(root: Path, answer: str, *extra: str) -> subprocess.CompletedProcess:
    """Run unlock with a real pseudo-terminal as stdin, as an engineer at a shell would, and type `answer`."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "CI": "false", "BILLINGOPS_UNLOCK_RECHECK_SECONDS": "0"}
    os.write(master, (answer + "\n").encode())
    try:
        return subprocess.run(
            [sys.executable, "-m", "billingops", "unlock", "--env", "dev", *extra],
            cwd=root,
            env=env,
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(slave)
        os.close(master)


def test_interactive_confirmation_needs_the_exact_lock_id(tmp_path):
    write_project(tmp_path, "", "")
    info = _local_lock(tmp_path, timedelta(hours=2))
    wrong = _unlock_on_a_tty(tmp_path, "yes")
    assert wrong.returncode == 4, wrong.stderr
    assert "did not match" in wrong.stderr and info["ID"] in wrong.stderr
    assert (tmp_path / "tf" / ".terraform.tfstate.lock.info").exists()
    right = _unlock_on_a_tty(tmp_path, info["ID"])
    assert right.returncode == 0, right.stderr
    assert not (tmp_path / "tf" / ".terraform.tfstate.lock.info").exists()
    outcomes = [
        json.loads(line)["outcome"] for line in (tmp_path / ".billingops" / "audit.jsonl").read_text().splitlines()
    ]
    assert outcomes == ["refused", "breaking", "broken"]
