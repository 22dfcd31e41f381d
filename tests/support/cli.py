"""The one way tests run billingops as a user does: `python -m billingops ARGS` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "billingops", *args]


def run(*args: str, cwd: Path, env: Mapping[str, str] | None = None, input: str | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """Run to the end; `env` is added to (not instead of) the test's environment."""
    return subprocess.run(argv(*args), cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          input=input, timeout=timeout, check=False)
