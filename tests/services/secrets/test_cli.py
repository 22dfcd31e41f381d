"""`billingops secrets seed|list|check` run as a user would, and the leak test: no value anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.services.secrets.conftest import id_flags, write_gcp_config

CANARY_API = "sk_live_CANARY_api_7f3a9c1e"
CANARY_HOOK = "whsec_CANARY_hook_4b8d2e6f"
CANARY_FILE = "CANARY-from-dotenv-91c2"
CANARY_STDIN = "CANARY-from-stdin-5e7a"


def _files_text(folder: Path) -> str:
    text = []
    for path in folder.rglob("*"):
        if path.is_file() and path.name != "billingops.toml" and ".env" not in path.name:
            text.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(text)


def _assert_no_leak(values, *texts):
    for value in values:
        for text in texts:
            assert value not in text


def test_seed_list_check_on_aws(run_cli, project, aws_ids):
    flags = id_flags(aws_ids)
    failed = run_cli("secrets", "check", "--env", "dev", *flags, cwd=project)
    assert failed.returncode == 1, failed.stderr
    assert "STRIPE_API_KEY (missing)" in failed.stderr and "billingops secrets seed" in failed.stderr

    env = {
        "BILLINGOPS_SECRET_STRIPE_API_KEY": CANARY_API,
        "BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET": CANARY_HOOK,
    }
    first = run_cli("secrets", "seed", "--env", "dev", "--json", *flags, env=env, cwd=project)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["written"] == 3
    assert {s["name"]: s["origin"] for s in doc["secrets"]}[
        "STRIPE_API_KEY"
    ] == "env BILLINGOPS_SECRET_STRIPE_API_KEY"

    second = run_cli("secrets", "seed", "--env", "dev", "--json", *flags, env=env, cwd=project)
    assert json.loads(second.stdout)["written"] == 0

    listed = run_cli("secrets", "list", "--env", "dev", *flags, env={"COLUMNS": "200"}, cwd=project)
    assert listed.returncode == 0, listed.stderr
    for name in aws_ids:
        assert name in listed.stdout
    assert "missing" not in listed.stdout

    ok = run_cli("secrets", "check", "--env", "dev", "--json", *flags, cwd=project)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    _assert_no_leak(
        [CANARY_API, CANARY_HOOK],
        first.stdout,
        first.stderr,
        second.stdout,
        listed.stdout,
        _files_text(project),
    )


def test_no_secret_id_and_no_terraform_is_a_usage_error(run_cli, project, aws_ids):
    result = run_cli("secrets", "list", "--env", "dev", "--secret-id", "SECRET_KEY=x", cwd=project)
    assert result.returncode in (2, 3), result.stderr
    assert "Traceback" not in result.stderr
    bad = run_cli("secrets", "list", "--env", "dev", "--secret-id", "NOPE", cwd=project)
    assert bad.returncode == 2 and "NAME=ID" in bad.stderr


def test_seed_on_gcp_with_file_and_stdin(run_cli, tmp_path, gcp_fake, gcp_ids):
    write_gcp_config(tmp_path, gcp_fake.url)
    (tmp_path / "secrets.env").write_text(
        f"STRIPE_API_KEY={CANARY_FILE}\nSTRIPE_WEBHOOK_SECRET='{CANARY_HOOK}'\n"
    )
    flags = id_flags(gcp_ids)
    first = run_cli("secrets", "seed", "--env", "dev", "--file", "secrets.env", *flags, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "3 secret version(s) written" in first.stdout
    stdin = run_cli(
        "secrets",
        "seed",
        "--env",
        "dev",
        "--stdin",
        "--rotate",
        "SECRET_KEY",
        *flags,
        input=f"STRIPE_API_KEY={CANARY_STDIN}\n",
        cwd=tmp_path,
    )
    assert stdin.returncode == 0, stdin.stderr
    assert "2 secret version(s) written" in stdin.stdout
    check = run_cli("secrets", "check", "--env", "dev", *flags, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    _assert_no_leak(
        [CANARY_FILE, CANARY_HOOK, CANARY_STDIN],
        first.stdout,
        first.stderr,
        stdin.stdout,
        stdin.stderr,
        check.stdout,
        _files_text(tmp_path / ".billingops"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--json"], ["-v"], ["-vvv", "--json"]])
def test_leak_canaries_on_success_and_failure_paths(run_cli, project, aws_ids, extra):
    canaries = [CANARY_API, CANARY_HOOK, CANARY_STDIN]
    env = {
        "BILLINGOPS_SECRET_STRIPE_API_KEY": CANARY_API,
        "BILLINGOPS_SECRET_STRIPE_WEBHOOK_SECRET": CANARY_HOOK,
    }
    flags = id_flags(aws_ids)
    runs = [
        run_cli("secrets", "seed", "--env", "dev", *flags, *extra, env=env, cwd=project),
        run_cli(
            "secrets",
            "seed",
            "--env",
            "dev",
            "--dry-run",
            "--rotate",
            "STRIPE_API_KEY",
            *flags,
            *extra,
            env=env,
            cwd=project,
        ),
        # failure after the values were read: one secret id does not exist
        run_cli(
            "secrets",
            "seed",
            "--env",
            "dev",
            "--stdin",
            "--rotate",
            "STRIPE_API_KEY",
            *flags,
            "--secret-id",
            "STRIPE_WEBHOOK_SECRET=billing-dev/does-not-exist",
            *extra,
            input=f"STRIPE_API_KEY={CANARY_STDIN}\nSTRIPE_WEBHOOK_SECRET={CANARY_HOOK}x\n",
            env=env,
            cwd=project,
        ),
        # failure in the input: an undeclared name, and a terraform one
        run_cli(
            "secrets",
            "seed",
            "--env",
            "dev",
            "--stdin",
            *flags,
            *extra,
            input=f"STRIPE_API_KEYY={CANARY_STDIN}\n",
            cwd=project,
        ),
        run_cli(
            "secrets",
            "seed",
            "--env",
            "dev",
            "--stdin",
            *flags,
            *extra,
            input=f"DATABASE_URL=postgresql://u:{CANARY_STDIN}@h/db\n",
            cwd=project,
        ),
        # missing required value
        run_cli(
            "secrets",
            "seed",
            "--env",
            "dev",
            "--rotate",
            "STRIPE_WEBHOOK_SECRET",
            *flags,
            *extra,
            env={"BILLINGOPS_SECRET_STRIPE_API_KEY": CANARY_API},
            cwd=project,
        ),
        run_cli("secrets", "list", "--env", "dev", *flags, *extra, cwd=project),
    ]
    assert [r.returncode for r in runs] == [0, 0, 3, 2, 2, 2, 0], [r.stderr[-500:] for r in runs]
    assert "does-not-exist" in runs[2].stderr
    for result in runs:
        assert "Traceback" not in result.stderr
        _assert_no_leak(canaries + [CANARY_HOOK + "x"], result.stdout, result.stderr)
    state = project / ".billingops"
    assert (state / "audit.jsonl").is_file()
    _assert_no_leak(canaries, _files_text(project))


def test_check_on_gcp_fails_with_one_json_document(run_cli, tmp_path, gcp_fake, gcp_ids):
    write_gcp_config(tmp_path, gcp_fake.url)
    result = run_cli("secrets", "check", "--env", "dev", "--json", *id_flags(gcp_ids), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    statuses = {s["name"]: s["status"] for s in doc["error"]["secrets"]}
    assert statuses == {
        "SECRET_KEY": "missing",
        "STRIPE_API_KEY": "missing",
        "STRIPE_WEBHOOK_SECRET": "missing",
        "DATABASE_URL": "ok",
        "REDIS_URL": "ok",
    }
    assert "tf-gcp-pw" not in result.stdout + result.stderr
    listed = run_cli("secrets", "list", "--env", "dev", "--json", *id_flags(gcp_ids), cwd=tmp_path)
    rows = {s["name"]: s for s in json.loads(listed.stdout)["secrets"]}
    assert rows["DATABASE_URL"]["version"] == "1" and rows["SECRET_KEY"]["status"] == "missing"
    assert set(rows["DATABASE_URL"]) == {
        "name",
        "source",
        "required",
        "secret_id",
        "status",
        "version",
        "changed_at",
    }  # no value field, ever
