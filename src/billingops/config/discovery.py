"""Where billingops.toml is: --config, then BILLINGOPS_CONFIG, then up from the working directory to the
repository root or the home folder; a file other users can change is refused."""

from __future__ import annotations

import os
from pathlib import Path

from billingops.config.environments import CONFIG_FILENAME
from billingops.errors import ConfigError


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    if explicit is None and os.environ.get("BILLINGOPS_CONFIG"):
        explicit = Path(os.environ["BILLINGOPS_CONFIG"])
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(
                f"Configuration file {explicit} does not exist.",
                hint="Check --config / BILLINGOPS_CONFIG, or drop it to use billingops.toml in the project.",
            )
        return explicit
    here = (cwd or Path.cwd()).resolve()
    home = Path.home().resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            _refuse_writable_by_others(candidate)
            return candidate
        # The search stops at the repository root or the home folder: a billingops.toml above them belongs
        # to someone else (a shared /tmp, another checkout) and must not steer a deploy.
        if (folder / ".git").exists() or folder == home:
            break
    return None


def _refuse_writable_by_others(path: Path) -> None:
    import stat

    mode = path.stat().st_mode
    if mode & (stat.S_IWOTH | stat.S_IWGRP) and not mode & stat.S_ISVTX:
        raise ConfigError(
            f"{path} can be changed by other users (mode {stat.filemode(mode)}), so billingops will not use it: "
            "whoever can write it decides where deploys go.",
            hint=f"Run `chmod go-w {path}`, or pass --config with a file only you can write.",
        )
