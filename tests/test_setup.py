"""scripts/setup on a stock Debian/Ubuntu: Debian's own python3 first on PATH, which refuses pip installs (PEP 668).

The set-up must make a project virtual environment (.venv) with that interpreter and install billingops there,
never into the system interpreter, and a second run must not reinstall.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = Path("/usr/bin/python3")

# Read before the autouse fixture swaps HOME for a throwaway one: the real pip cache (reused, so the install is
# quick) and the user's pip configuration (where the package index may be set).
_REAL_HOME = Path.home()
_PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or _REAL_HOME / ".cache") / "pip")
_PIP_USER_CONFIG = next((p for p in (Path(os.environ.get("XDG_CONFIG_HOME") or _REAL_HOME / ".config") / "pip/pip.conf",
                                     _REAL_HOME / ".pip/pip.conf") if p.is_file()), None)

_NOT_COPIED = shutil.ignore_patterns(".git", ".venv*", ".billingops", ".terraform", "__pycache__", "*.egg-info",
                                     ".pytest_cache", ".mypy_cache", ".ruff_cache", "dist", "build")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SYSTEM_PYTHON.exists() or subprocess.run(
            [str(SYSTEM_PYTHON), "-c", "import sys; sys.exit(sys.version_info < (3, 11))"]).returncode != 0,
        reason="needs a Debian/Ubuntu system python3 >= 3.11 at /usr/bin/python3"),
]


def _stock_path() -> str:
    """PATH with Debian's python3 first: no pyenv shims, no virtual environment (ours or the caller's)."""
    own_venv = Path(sys.prefix) / "bin" if sys.prefix != sys.base_prefix else None
    kept = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and "/.pyenv/" not in d + "/" and (own_venv is None or Path(d) != own_venv)]
    return os.pathsep.join(["/usr/bin", *[d for d in kept if d != "/usr/bin"]])


def _system_site_listing(env: dict[str, str]) -> dict[str, list[str]]:
    """What the system interpreter's site-packages folders (user site included) hold."""
    code = ("import json, os, site\n"
            "dirs = [*site.getsitepackages(), site.getusersitepackages()]\n"
            "print(json.dumps({d: sorted(os.listdir(d)) if os.path.isdir(d) else [] for d in dirs}))")
    out = subprocess.run([str(SYSTEM_PYTHON), "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _setup(repo: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run([str(repo / "scripts/setup")], cwd=repo, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=840)
    return proc, time.monotonic() - started


def test_setup_with_debian_python_makes_a_venv_and_leaves_the_system_alone(tmp_path):
    repo = tmp_path / "billingops"
    shutil.copytree(REPO, repo, ignore=_NOT_COPIED, symlinks=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYENV_VERSION", "PYTHON", "BILLINGOPS_VENV")}
    env.update(PATH=_stock_path(), PIP_CACHE_DIR=_PIP_CACHE,
               # byte-compiling every installed module is a third of the install's time and proves nothing here
               PIP_NO_COMPILE="1")
    if _PIP_USER_CONFIG is not None:
        env["PIP_CONFIG_FILE"] = str(_PIP_USER_CONFIG)
    first_python = subprocess.run(["bash", "-c", "command -v python3"], env=env, capture_output=True, text=True)
    assert first_python.stdout.strip() == str(SYSTEM_PYTHON)
    system_before = _system_site_listing(env)

    first, first_seconds = _setup(repo, env)
    assert first.returncode == 0, first.stdout + first.stderr[-4000:]
    assert f"creating .venv with {SYSTEM_PYTHON}" in first.stdout, first.stdout

    venv = repo / ".venv"
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "home = /usr/bin\n" in cfg, cfg
    version = subprocess.run([str(venv / "bin/billingops"), "--version"], env=env, capture_output=True, text=True)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("billingops "), version.stdout
    # the dev extra pulls in the sandbox extra: the tests and `deploy --sandbox` need moto
    subprocess.run([str(venv / "bin/python"), "-c", "import moto.server, pytest"], env=env, check=True)

    assert _system_site_listing(env) == system_before, "scripts/setup installed into the system interpreter"
    elsewhere = tmp_path / "elsewhere"  # not next to the copy, which `import billingops` would find as a folder
    elsewhere.mkdir()
    not_there = subprocess.run([str(SYSTEM_PYTHON), "-c", "import billingops"], cwd=elsewhere, env=env,
                               capture_output=True, text=True)
    assert not_there.returncode != 0 and "No module named 'billingops'" in not_there.stderr

    second, second_seconds = _setup(repo, env)
    assert second.returncode == 0, second.stdout + second.stderr[-4000:]
    assert "creating" not in second.stdout and "installing" not in second.stdout, second.stdout
    assert "setup: done (billingops " in second.stdout
    assert second_seconds < min(60.0, first_seconds), (first_seconds, second_seconds)
