"""terraform fmt and an offline terraform validate of every AWS root."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.terraform import find_provider_mirror, terraform_binary

from .conftest import TERRAFORM, terraform_env


def test_fmt_is_clean(tf_cli_config):
    proc = subprocess.run([terraform_binary(), "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
                          env=terraform_env(tf_cli_config), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("root", ["aws", "aws/bootstrap"])
def test_aws_validates_offline(root, tf_cli_config, tmp_path):
    if find_provider_mirror() is None:
        pytest.skip("no offline provider mirror (registry.terraform.io) on this machine")
    # A copy, so that no .terraform directory is left in the repository; the committed lock file comes along and
    # `-lockfile=readonly` fails if the mirror's provider does not match its checksums.
    workdir = tmp_path / "module"
    shutil.copytree(TERRAFORM / "aws", workdir, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    workdir = workdir / root.removeprefix("aws").lstrip("/")
    env = terraform_env(tf_cli_config)
    tf = terraform_binary()

    init = subprocess.run([tf, "init", "-backend=false", "-input=false", "-lockfile=readonly", "-no-color"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stdout + init.stderr
    validate = subprocess.run([tf, "validate", "-no-color"], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=300)
    assert validate.returncode == 0, validate.stdout + validate.stderr
