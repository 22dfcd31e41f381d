"""Local backend locks: `.terraform.tfstate.lock.info` left by a killed terraform, and a live fcntl holder."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def _project(make_project):
    project = make_project("", "")
    (project.tf_dir / "envs" / "dev.backend.hcl").unlink()
    project.terraform("init", "-input=false")
    return project


def test_dead_local_lock_is_broken(make_project, run_cli):
    project = _project(make_project)
    info_file = project.tf_dir / ".terraform.tfstate.lock.info"
    project.kill(project.start_apply(info_file.exists))
    (lock,) = json.loads(run_cli("locks", "--env", "dev", "--json", **project.cli_args()).stdout)["locks"]
    assert lock["backend"] == "local" and lock["location"] == str(info_file)
    assert lock["liveness"]["status"] == "dead"
    assert any("fcntl" in reason for reason in lock["liveness"]["reasons"])
    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 0, result.stderr
    assert not info_file.exists()
    project.terraform("plan", "-input=false", "-lock-timeout=0s")


def test_live_local_holder_is_refused(make_project, run_cli):
    project = _project(make_project)
    info_file = project.tf_dir / ".terraform.tfstate.lock.info"
    holder = project.start_apply(info_file.exists)
    content = info_file.read_text()
    result = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 4, result.stderr
    assert "fcntl lock" in result.stderr
    assert info_file.read_text() == content
    project.kill(holder)
