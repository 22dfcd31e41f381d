"""The offline provider mirror the sandbox's terraform installs the AWS provider from (machines without internet
keep one): found, and trusted only when nobody else could have planted a binary in it."""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path

from billingops.config import tunables

log = logging.getLogger(__name__)


def find_provider_mirror(search_root: Path = Path("/")) -> Path | None:
    """An offline provider mirror: BILLINGOPS_PROVIDER_MIRROR, or a `registry.terraform.io` folder up to
    three levels below / (where machines without internet keep one), or terraform's implicit dirs.

    Terraform runs whatever provider binary it finds there, so a folder found by searching is used only when
    it and its `registry.terraform.io` are owned by root (or by you) and not writable by others; a folder
    anyone could have planted is skipped (logged). BILLINGOPS_PROVIDER_MIRROR is taken as given."""
    explicit = tunables().provider_mirror
    if explicit:
        return Path(explicit)
    candidates = [Path.home() / ".terraform.d" / "plugins", Path("/usr/local/share/terraform/plugins"),
                  Path("/usr/share/terraform/plugins")]
    for base in candidates:
        if (base / "registry.terraform.io").is_dir() and _trusted_mirror(base):
            return base
    for pattern in ("*/registry.terraform.io", "*/*/registry.terraform.io"):
        for found in sorted(glob.glob(str(search_root / pattern))):
            if _trusted_mirror(Path(found).parent):
                return Path(found).parent
    return None


def _trusted_mirror(base: Path) -> bool:
    for folder in (base, base / "registry.terraform.io"):
        try:
            st = folder.stat()
        except OSError:
            return False
        if st.st_uid not in (0, os.geteuid()) or st.st_mode & 0o002:
            log.warning("sandbox: skipping the provider mirror %s: %s is %s", base, folder,
                        "writable by everyone" if st.st_mode & 0o002 else f"owned by uid {st.st_uid}")
            return False
    return True
