"""The deploy tests' project: see tests/support/deploy_project.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.deploy_project import make_project


@pytest.fixture
def project(tmp_path, tf_env) -> Path:
    return make_project(tmp_path / "project")
