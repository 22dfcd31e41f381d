"""Terraform for tests: the binary on PATH and the offline provider mirror, found at run time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def find_provider_mirror() -> Path | None:
    """The folder above the machine's `registry.terraform.io` mirror (`find / -maxdepth 3`), or None."""
    found = subprocess.run(["find", "/", "-maxdepth", "3", "-type", "d", "-name", "registry.terraform.io"],
                           capture_output=True, text=True, check=False).stdout.split()
    for line in found:
        return Path(line).parent
    return None


def write_cli_config(path: Path) -> Path:
    """A TF_CLI_CONFIG_FILE that installs hashicorp providers from the mirror (if any) and nothing remotely."""
    mirror = find_provider_mirror()
    if mirror is None:
        path.write_text("")
        return path
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
    )
    return path


def terraform_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise RuntimeError("terraform not on PATH")
    return binary
