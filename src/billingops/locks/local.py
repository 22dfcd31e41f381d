"""Terraform's local backend lock: an fcntl lock on the state file plus `.<state>.lock.info` beside it.

The kernel drops the fcntl lock when terraform dies, but the info file stays. Whether the fcntl lock can be
taken is the exact liveness answer on this host, and it is held while the info file is deleted so a
terraform starting at that moment waits for us instead of racing us.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from billingops.errors import StepFailed
from billingops.locks.backend_config import DEFAULT_WORKSPACE, BackendConfig
from billingops.locks.model import HeldLock, LockChanged, LockInfo, MalformedLock

log = logging.getLogger(__name__)


def state_path(config: BackendConfig, tf_dir: Path, workspace: str) -> Path:
    if workspace == DEFAULT_WORKSPACE:
        path = Path(str(config.get("path", "terraform.tfstate")))
    else:
        path = Path(str(config.get("workspace_dir", "terraform.tfstate.d"))) / workspace / "terraform.tfstate"
    return path if path.is_absolute() else tf_dir / path


class LocalLockStore:
    store = "local"

    def __init__(self, env_name: str, config: BackendConfig, workspace: str, tf_dir: Path) -> None:
        self.env_name = env_name
        self.workspace = workspace
        self.state_file = state_path(config, tf_dir, workspace)
        self.info_file = self.state_file.with_name(f".{self.state_file.name}.lock.info")

    @property
    def location(self) -> str:
        return str(self.info_file)

    def read(self) -> HeldLock | None:
        try:
            raw = self.info_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StepFailed(
                f"Cannot read the lock file {self.info_file}: {exc.strerror}.",
                hint="Check the file's permissions.",
            ) from None
        held = HeldLock(
            env=self.env_name,
            backend="local",
            store=self.store,
            location=self.location,
            state=str(self.state_file),
            workspace=self.workspace,
            lock_id="",
            info=None,
            token=raw,
        )
        try:
            held.info = LockInfo.from_json(raw)
            held.lock_id = held.info.id
        except MalformedLock as exc:
            held.malformed = f"the file is {exc}"
        held.extra["fcntl_held"] = self.fcntl_held()
        return held

    def fcntl_held(self) -> bool | None:
        """True when a live process holds terraform's fcntl lock on the state file; None if unknowable."""
        try:
            with self._state_locked():
                return False
        except BlockingIOError:
            return True
        except OSError:
            return None

    @contextlib.contextmanager
    def _state_locked(self) -> Iterator[None]:
        if not self.state_file.exists():
            yield
            return
        fd = os.open(self.state_file, os.O_RDWR)
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (11, 13):  # EAGAIN / EACCES: someone holds it
                    raise BlockingIOError(str(exc)) from None
                raise
            try:
                yield
            finally:
                fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def delete(self, held: HeldLock) -> None:
        try:
            with self._state_locked():
                try:
                    current = self.info_file.read_text(encoding="utf-8")
                except FileNotFoundError:
                    raise LockChanged(f"{self.location} vanished before the delete") from None
                if current != held.token:
                    raise LockChanged(f"{self.location} changed before the delete")
                self.info_file.unlink()
        except BlockingIOError:
            raise LockChanged(f"a live process holds terraform's lock on {self.state_file}") from None
        log.info("deleted %s", self.location)
