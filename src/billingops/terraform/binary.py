"""The terraform binary: where it is and which version it is; billingops needs >= MIN_VERSION."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from billingops import process

MIN_VERSION = (1, 11, 0)  # use_lockfile (S3 native locking) and write-only attributes


def terraform_version(binary: str) -> tuple[int, int, int]:
    try:
        st = Path(binary).stat()
    except OSError:
        return _terraform_version(binary, 0, 0)
    return _terraform_version(binary, st.st_ino, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _terraform_version(binary: str, _inode: int, _mtime_ns: int) -> tuple[int, int, int]:
    # Asked by preflight and by init in one run: once per binary (a replaced binary is a new key).
    result = process.run([binary, "version", "-json"], timeout=30)
    try:
        text = json.loads(result.stdout)["terraform_version"]
    except (ValueError, KeyError):
        text = result.stdout.split()[1].lstrip("v") if result.stdout.split()[1:] else "0.0.0"
    parts = (re.findall(r"\d+", text) + ["0", "0", "0"])[:3]
    return int(parts[0]), int(parts[1]), int(parts[2])


def find_terraform() -> str:
    return process.which("terraform", hint="Install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install).")
