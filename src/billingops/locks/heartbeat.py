"""The deploy lock's heartbeat and fencing: a lock has one owner at a time.

The holder renews its record every `heartbeat_every` seconds with a conditional write (on the token it
last wrote), so readers judge liveness from the last heartbeat rather than from the lock's age. Before each
step and before each write, the holder renews once more (`fence`): if the record is no longer the one it
wrote (broken by `unlock`, taken by another run), it stops there with `LockLost` (exit 4); its journal is
left resumable.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from billingops.errors import Refused
from billingops.locks.model import HeldLock, LockChanged, parse_created

log = logging.getLogger(__name__)

_HELD: list[Heartbeat] = []  # the deploy locks this process holds, for fence_all()


class LockLost(Refused):
    title = "deploy lock lost"


@cache
def machine_id() -> str:
    """/etc/machine-id, else the kernel's boot id: tells two hosts of the same name apart."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id", "/proc/sys/kernel/random/boot_id"):
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if value:
            return value
    return ""


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stale_after(every: float) -> float:
    """A heartbeat older than this is a holder that stopped renewing (crashed, frozen, cut off)."""
    return max(3 * every, every + 2)


def heartbeat_age(held: HeldLock) -> float | None:
    beat = parse_created(str(held.extra.get("heartbeat") or ""))
    return None if beat is None else (datetime.now(UTC) - beat).total_seconds()


def with_beat(body: str) -> str:
    """The record `body` with its heartbeat (inside Info, where every reader looks) set to now."""
    record = json.loads(body)
    details = json.loads(record.get("Info") or "{}")
    details["heartbeat"] = now_text()
    record["Info"] = json.dumps(details, sort_keys=True)
    return json.dumps(record, sort_keys=True)


class Heartbeat:
    """Renews one held deploy lock from a daemon thread; `fence` renews at a boundary and raises if lost."""

    def __init__(self, store: Any, held: HeldLock, body: str, every: float, env_name: str) -> None:
        self.store, self.held, self.body, self.every, self.env_name = store, held, body, every, env_name
        self.lost: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="deploy-lock-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        _HELD.append(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self in _HELD:
            _HELD.remove(self)
        self._thread.join(timeout=max(5.0, self.every))

    def renew(self) -> bool:
        """One conditional renewal; False (and `lost` set) once the record is not ours any more."""
        with self._lock:
            if self.lost:
                return False
            body = with_beat(self.body)
            try:
                self.held = self.store.replace(self.held, body)
                self.body = body
            except LockChanged as exc:
                self.lost = str(exc)
                log.error("the deploy lock %s is no longer ours: %s", self.store.location, exc)
                return False
            except Exception as exc:  # noqa: BLE001  # a failed renewal is retried; a stale beat shows it
                log.warning("could not renew the deploy lock heartbeat %s: %s", self.store.location, exc)
            return True

    def fence(self, boundary: str) -> None:
        if not self.renew():
            raise LockLost(
                f"The deploy lock on {self.env_name} is no longer held by run {self.held.lock_id} "
                f"({self.lost}); billingops stopped before {boundary} and wrote nothing there.",
                hint=f"Someone broke the lock or another run took it: check `billingops locks --env "
                f"{self.env_name}`; when that run is done, continue this one with --resume.",
            )

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            if not self.renew():
                return


def fence_all(boundary: str) -> None:
    """Before a step or a write: every deploy lock this process holds must still be its own."""
    for beat in list(_HELD):
        beat.fence(boundary)
