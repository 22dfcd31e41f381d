"""The terraform binary: where it is and which version it is; billingops needs >= MIN_VERSION."""

from __future__ import annotations

import json
import re

from billingops import process

MIN_VERSION = (1, 11, 0)  # use_lockfile (S3 native locking) and write-only attributes


def terraform_version(binary: str) -> tuple[int, int, int]:
    result = process.run([binary, "version", "-json"], timeout=30)
    try:
        text = json.loads(result.stdout)["terraform_version"]
    except (ValueError, KeyError):
        text = result.stdout.split()[1].lstrip("v") if result.stdout.split()[1:] else "0.0.0"
    parts = (re.findall(r"\d+", text) + ["0", "0", "0"])[:3]
    return int(parts[0]), int(parts[1]), int(parts[2])


def find_terraform() -> str:
    return process.which("terraform", hint="Install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install).")
