"""Ctrl-C during migrate-cloud: the first one stops the run and lets it record where it stopped; a second one,
pressed while that cleanup still waits on COPY pipes, index builds or Redis workers, ends it at once.

Without this, a second Ctrl-C lands wherever the cleanup happens to be: it can cut the journal or deploy lock
bookkeeping short, and the interpreter still waits at exit for the copy threads, whose psql children keep
running. Here the second Ctrl-C SIGKILLs this process's children (a migration is built to survive exactly
that: --resume redoes unfinished tables and databases), and the bookkeeping at the end runs shielded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)


class CtrlC:
    """Install with `with CtrlC(notify):` around a run (main thread only; elsewhere it does nothing)."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        self.notify = notify
        self.count = 0
        self._shielded = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def ending(self) -> None:
        """The run is ending: its last bookkeeping (journal status, audit record, lock release) takes
        milliseconds and must not be cut, so from now on a Ctrl-C no longer raises."""
        self._shielded = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count > 1:
            killed = kill_children()
            log.debug("second Ctrl-C: killed child processes %s", killed)
        if self._shielded:
            return  # the run is already ending; let it finish writing where it stopped
        if self.count == 1:
            self.notify("interrupted: stopping the copy and recording where it stopped; Ctrl-C again to abort at once")
        else:
            self.notify("aborting: the copy processes were killed; finish the run later with --resume")
        raise KeyboardInterrupt


def descendants(pid: int | None = None, proc: Path = Path("/proc")) -> list[int]:
    """Every descendant of `pid` (default: this process), read from /proc (Linux)."""
    root = os.getpid() if pid is None else pid
    parents: dict[int, list[int]] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # exited while we read
    found: list[int] = []
    todo = list(parents.get(root, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(parents.get(child, []))
    return found


def kill_children(pid: int | None = None, proc: Path = Path("/proc")) -> list[int]:
    """SIGKILL every descendant of `pid` (default: this process); returns their pids."""
    found = descendants(pid, proc)
    for child in found:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)
    return found
