"""Issue 13 (3): `locks` never gives an unchecked all-clear: an environment whose lock store could not be read
is "could not check: why" (exit 3, and so in --json), never folded into "no lock held"."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path


def _project(root: Path) -> Path:
    """dev on a local backend (readable); prod and staging on S3 behind an endpoint nothing listens on."""
    (root / "tf" / "envs").mkdir(parents=True)
    (root / "tf" / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    for name in ("prod", "staging"):
        (root / "tf" / "envs" / f"{name}.tfvars").write_text(f'environment = "{name}"\n')
        (root / "tf" / "envs" / f"{name}.backend.hcl").write_text(
            f'bucket = "tf-state"\nkey = "{name}.tfstate"\nregion = "us-east-1"\n'
            'dynamodb_table = "tf-locks"\nendpoints = { s3 = "http://127.0.0.1:9", dynamodb = "http://127.0.0.1:9" }\n')
    (root / "local").mkdir()
    (root / "local" / "main.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    (root / "local" / "envs").mkdir()
    (root / "local" / "envs" / "dev.tfvars").write_text('environment = "dev"\n')
    (root / "local" / "envs" / "dev.backend.hcl").write_text(f'path = "{root / "dev.tfstate"}"\n')
    (root / "billingops.toml").write_text(textwrap.dedent("""
        [project]
        state_dir = ".billingops"

        [environments.prod]
        cloud = "aws"
        terraform_dir = "tf"

        [environments.staging]
        cloud = "aws"
        terraform_dir = "tf"

        [environments.dev]
        cloud = "aws"
        terraform_dir = "local"
        """))
    return root


def test_locks_all_says_which_environments_it_could_not_check(tmp_path, run_cli):
    project = _project(tmp_path / "p")
    env = {"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}
    text = run_cli("locks", "--all", cwd=project, env=env)
    assert text.returncode == 3, text.stderr
    assert "No state lock or deploy lock held on prod, staging, dev" not in text.stdout
    assert "could not check prod, staging" in text.stdout.lower(), text.stdout
    assert "dev: checked, none held" in text.stdout, text.stdout

    doc = json.loads(run_cli("locks", "--all", "--json", cwd=project, env=env).stdout)
    assert doc["outcome"] == "could not check"
    assert doc["checked"] == ["dev"]
    assert [u["env"] for u in doc["could_not_check"]] == ["prod", "staging"]
    assert all(u["why"] for u in doc["could_not_check"])
    assert doc["locks"] == []


def test_locks_all_checked_everywhere_is_a_real_all_clear(tmp_path, run_cli):
    project = _project(tmp_path / "p")
    toml = project / "billingops.toml"
    toml.write_text(toml.read_text().replace('terraform_dir = "tf"', 'terraform_dir = "local"'))
    for name in ("prod", "staging"):
        (project / "local" / "envs" / f"{name}.tfvars").write_text(f'environment = "{name}"\n')
        (project / "local" / "envs" / f"{name}.backend.hcl").write_text(f'path = "{project / name}.tfstate"\n')
    result = run_cli("locks", "--all", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "none held" and doc["checked"] == ["prod", "staging", "dev"]
    assert doc["could_not_check"] == []


def test_doctor_says_what_it_could_not_check_and_exits_3(tmp_path, run_cli):
    project = _project(tmp_path / "p")
    result = run_cli("doctor", "--env", "prod", "--json", cwd=project,
                     env={"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"})
    doc = json.loads(result.stdout)
    assert "state lock" in [u["name"] for u in doc["could_not_check"]], doc
    rows = {c["name"]: c for c in doc["checks"]}
    assert rows["state lock"]["checked"] is False and rows["state lock"]["status"] != "ok"
    # the cloud cannot be asked: credentials fail (issue 16: fail, not warn), unchecked, and nothing else failed
    assert rows["credentials"]["status"] == "fail" and rows["credentials"]["checked"] is False, doc
    assert not any(c["status"] == "fail" and c["checked"] for c in doc["checks"]), doc
    assert result.returncode == 3, doc
    text = run_cli("doctor", "--env", "prod", cwd=project, env={"AWS_MAX_ATTEMPTS": "1"})
    unchecked = next(line for line in text.stdout.splitlines() if line.startswith("COULD NOT CHECK"))
    assert text.returncode == 3 and "state lock" in unchecked, text.stdout
