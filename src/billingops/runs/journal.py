"""Run journals: one JSON file per run under .billingops/runs/, rewritten atomically after every change.

A journal records the run's steps and outcomes, its pid and host (so `unlock` can tell a live billingops
run from a dead one), the terraform child it is running, and anything a command needs to resume
(`data[...]`). Writes go to a temp file, are fsynced, renamed over the old file, and the folder is
fsynced: a crash at any instant leaves either the old or the new journal, never a torn one.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from billingops import redact
from billingops.runs.audit import new_run_id, who

RUNNING = "running"
FINISHED = ("ok", "failed", "interrupted", "refused")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def atomic_write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(redact.redact_data(data), indent=2, sort_keys=True, default=str)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Journal:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def create(cls, runs_dir: Path, *, command: str, env: str | None, cloud: str | None,
               argv: Sequence[str] = (), run_id: str | None = None) -> Journal:
        run_id = run_id or new_run_id()
        data = {
            "run_id": run_id, "command": command, "env": env, "cloud": cloud, "status": RUNNING,
            "pid": os.getpid(), "host": socket.gethostname(), "who": who(), "argv": list(argv),
            "started": _now(), "updated": _now(), "terraform": None, "steps": [],
        }
        journal = cls(runs_dir / f"{run_id}.json", data)
        journal.save()
        return journal

    @classmethod
    def load(cls, path: Path) -> Journal:
        return cls(path, json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def find(cls, runs_dir: Path, run_id: str) -> Journal | None:
        path = runs_dir / f"{run_id}.json"
        return cls.load(path) if path.is_file() else None

    @classmethod
    def latest(cls, runs_dir: Path, *, command: str, env: str | None, unfinished_only: bool = True,
               cloud: str | None = None) -> Journal | None:
        for journal in iter_journals(runs_dir):
            if journal.data.get("command") != command or journal.data.get("env") != env:
                continue
            if cloud is not None and journal.data.get("cloud") != cloud:
                continue
            if unfinished_only and journal.data.get("status") == "ok":
                return None
            return journal
        return None

    @property
    def run_id(self) -> str:
        return str(self.data["run_id"])

    @property
    def status(self) -> str:
        return str(self.data.get("status"))

    def save(self) -> None:
        self.data["updated"] = _now()
        atomic_write_json(self.path, self.data)

    def reopen(self) -> None:
        """Take over an unfinished run for --resume: this process is now its owner."""
        self.data.update(status=RUNNING, pid=os.getpid(), host=socket.gethostname(), who=who())
        self.data.setdefault("resumed", []).append(_now())
        self.save()

    def finish(self, status: str) -> None:
        self.data["status"] = status
        self.data["finished"] = _now()
        self.data["terraform"] = None
        self.save()

    # -- steps ------------------------------------------------------------------------------------------
    def step(self, name: str) -> dict[str, Any] | None:
        entry: dict[str, Any]
        for entry in self.data["steps"]:
            if entry["name"] == name:
                return entry
        return None

    def set_step(self, name: str, **fields: Any) -> None:
        entry = self.step(name)
        if entry is None:
            entry = {"name": name}
            self.data["steps"].append(entry)
        entry.update(fields)
        self.save()

    def set_terraform(self, info: dict[str, Any] | None) -> None:
        self.data["terraform"] = info
        self.save()


def iter_journals(runs_dir: Path) -> Iterator[Journal]:
    """Journals, newest first; unreadable files are skipped (a crash can only leave temp files behind)."""
    if not runs_dir.is_dir():
        return
    paths = sorted((p for p in runs_dir.glob("*.json") if not p.name.startswith(".")), reverse=True)
    for path in paths:
        try:
            yield Journal.load(path)
        except (OSError, ValueError):
            continue


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
