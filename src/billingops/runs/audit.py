"""Append-only, tamper-evident audit log (JSON lines).

Each record carries `prev`, the SHA-256 of the previous record's line, and `hash`, the SHA-256 of its own
content without `hash`; a record is flushed and fsynced before the action it describes starts. Editing,
deleting or reordering records breaks the chain, which `verify()` reports. Who (user@host), when, argv
with secrets redacted, env, cloud and run id are on every record.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billingops import redact

GENESIS = "0" * 64


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def new_run_id() -> str:
    # Sortable to the millisecond, so "the latest run" is well defined even for runs a second apart.
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}Z"
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def _digest(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    line: int
    problem: str


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record (redacted), chained to the previous one, durably, under an exclusive lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        base = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, "who": who(),
                "pid": os.getpid()}
        record: dict[str, Any] = redact.redact_data({**base, **fields})
        with open(self.path, "a+", encoding="utf-8") as fh:
            self._lock(fh, event)
            try:
                record["prev"] = self._last_hash(fh)
                record["hash"] = _digest(record)
                fh.seek(0, os.SEEK_END)
                fh.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
            # The lock only orders the chain; fsync (slow on a loaded disk) runs outside it, so a writer frozen
            # mid-fsync never holds up the next one. The next writer's own fsync flushes this line too.
            os.fsync(fh.fileno())
        return record

    def _lock(self, fh: Any, event: str) -> None:
        """Take the chain's lock, waiting at most BILLINGOPS_AUDIT_LOCK_TIMEOUT: a holder stopped while it
        writes (Ctrl-Z, SIGSTOP) must not hang every other run, least of all the `unlock` that would free it."""
        from billingops.config import tunables
        from billingops.errors import ExternalError

        timeout = tunables().audit_lock_timeout
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
        holder = _flock_holder(self.path)
        raise ExternalError(
            f"Could not write the audit record {event!r}: the audit log {self.path} has been locked by "
            f"{holder} for {timeout:g} s, so this action was not started (nothing is done "
            "without its audit record).",
            hint="A billingops run stopped while writing its record holds the lock: resume it (`fg`, or "
                 "`kill -CONT PID`) or end it, then run this command again. BILLINGOPS_AUDIT_LOCK_TIMEOUT sets "
                 "the wait.")

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except ValueError:
                    yield {"event": "corrupt", "raw": line[:200]}

    def verify(self) -> list[ChainProblem]:
        """Check the hash chain; return problems, the first broken or missing record first."""
        problems: list[ChainProblem] = []
        prev = GENESIS
        if not self.path.exists():
            return problems
        with open(self.path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    problems.append(ChainProblem(number, "not valid JSON (edited or truncated)"))
                    prev = hashlib.sha256(line.strip().encode()).hexdigest()
                    continue
                if record.get("hash") != _digest(record):
                    problems.append(ChainProblem(number, "content does not match its hash (record edited)"))
                if record.get("prev") != prev:
                    problems.append(ChainProblem(
                        number, "does not follow the previous record (a record before it was deleted, "
                        "inserted or reordered)"))
                prev = record.get("hash", "")
        return problems

    @staticmethod
    def _last_hash(fh: Any) -> str:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return GENESIS
        # Read back just enough of the tail to find the last complete line.
        chunk = min(size, 65536)
        while True:
            fh.seek(size - chunk)
            tail = fh.read(chunk)
            lines = [ln for ln in tail.splitlines() if ln.strip()]
            if lines and (chunk == size or len(lines) > 1):
                break
            chunk = min(size, chunk * 4)
        try:
            last: str = json.loads(lines[-1]).get("hash", GENESIS)
            return last
        except ValueError:
            return hashlib.sha256(lines[-1].strip().encode()).hexdigest()


def _flock_holder(path: Path) -> str:
    """'process PID (stopped)' for the holder of `path`'s flock, from /proc/locks; a general phrase otherwise."""
    try:
        inode = os.stat(path).st_ino
        with open("/proc/locks", encoding="ascii") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return "another process"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters are marked "->" and skipped)
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            pid = fields[4]
            return f"process {pid}{_process_state(pid)}"
    return "another process"


def _process_state(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return ""
    return {"T": " (stopped)", "t": " (stopped by a debugger)", "D": " (waiting on the disk)"}.get(state, "")
