"""Is the holder of a lock still running? Evidence from this host's processes, billingops journals and fcntl.

A verdict is `live` (refuse to break), `dead` (the holder is on this host and provably gone) or `unknown`
(the holder is elsewhere: only the age rule protects it). Each verdict carries the reasons behind it,
which `locks` and `unlock` show to the engineer.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billingops.locks.backend_config import DEFAULT_WORKSPACE
from billingops.locks.model import HeldLock

log = logging.getLogger(__name__)

LIVE, DEAD, UNKNOWN = "live", "dead", "unknown"

# state_identity(): ("s3", bucket, key, workspace), ("gcs", bucket, prefix, workspace) or ("local", path)
StateId = tuple[Any, ...]


@dataclass
class Verdict:
    status: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class TerraformProcess:
    pid: int
    cwd: str
    state: StateId | None  # state_identity() of the backend its working directory is initialised for


def state_identity(kind: str, settings: dict[str, Any], workspace: str, base_dir: Path) -> StateId:
    """A comparable name for one workspace's state, whatever wrote the settings (HCL, .terraform, journal)."""
    if kind == "s3":
        return ("s3", settings.get("bucket"), settings.get("key"), workspace)
    if kind == "gcs":
        return ("gcs", settings.get("bucket"), str(settings.get("prefix") or "").strip("/"), workspace)
    from billingops.locks.backend_config import BackendConfig
    from billingops.locks.local import state_path

    return ("local", str(state_path(BackendConfig("local", dict(settings)), base_dir, workspace).resolve()))


def terraform_processes(proc: Path = Path("/proc")) -> list[TerraformProcess]:
    """Terraform processes on this host, each with the state its working directory is initialised for."""
    found: list[TerraformProcess] = []
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if comm != "terraform" and not (comm.startswith("terraform") and not comm.startswith("terraform-")):
                continue
            cwd = Path(os.readlink(entry / "cwd"))
            environ = dict(
                item.split("=", 1)
                for item in (entry / "environ").read_bytes().decode(errors="replace").split("\0")
                if "=" in item
            )
        except (OSError, ValueError):
            continue  # exited meanwhile, or not ours to inspect
        found.append(TerraformProcess(int(entry.name), str(cwd), _initialised_state(cwd, environ)))
    return found


def _initialised_state(cwd: Path, environ: dict[str, str]) -> StateId | None:
    data_dir = Path(environ.get("TF_DATA_DIR") or ".terraform")
    data_dir = data_dir if data_dir.is_absolute() else cwd / data_dir
    workspace = environ.get("TF_WORKSPACE") or _read(data_dir / "environment") or DEFAULT_WORKSPACE
    try:
        backend = json.loads((data_dir / "terraform.tfstate").read_text(encoding="utf-8")).get("backend") or {}
    except (OSError, ValueError):
        backend = {}
    kind = backend.get("type") or "local"
    return state_identity(kind, backend.get("config") or {}, workspace, cwd)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def pid_alive(pid: Any) -> bool:
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _read(Path(f"/proc/{pid}/stat"))
    return not (stat and stat.rpartition(")")[2].split()[:1] == ["Z"])  # a zombie has exited


def judge(
    held: HeldLock,
    identity: StateId,
    runs_dir: Path,
    *,
    host: str | None = None,
    processes: list[TerraformProcess] | None = None,
) -> Verdict:
    host = host or socket.gethostname()
    if held.extra.get("kind") == "deploy":
        return _judge_deploy_lock(held, runs_dir, host)
    live: list[str] = []
    dead: list[str] = []
    notes: list[str] = []
    holder_host = held.info.host if held.info else ""
    on_this_host = holder_host == host

    if held.extra.get("fcntl_held") is True:
        live.append(f"a live process holds terraform's fcntl lock on {held.state}")
    elif held.extra.get("fcntl_held") is False:
        dead.append(f"nobody holds terraform's fcntl lock on {held.state}")

    if on_this_host:
        procs = terraform_processes() if processes is None else processes
        users = [p for p in procs if p.state == identity]
        for p in users:
            live.append(f"terraform pid {p.pid} in {p.cwd} is running on this host against the same state")
        if not users:
            dead.append(f"the holder ran on this host ({host}) and no terraform process here uses this state")
    elif holder_host:
        notes.append(
            f"the holder ran on another host ({holder_host}); its processes cannot be checked from "
            f"here, so only the age rule protects it"
        )
    else:
        notes.append("the lock does not say which host holds it")

    for run in _matching_runs(held, identity, runs_dir):
        data, pid = run, run.get("pid")
        tf_pid = (data.get("terraform") or {}).get("pid")
        label = f"billingops run {data.get('run_id')} ({data.get('command')}, pid {pid} on {data.get('host')})"
        if data.get("host") != host:
            notes.append(f"{label} says it is running on another host")
        elif pid_alive(pid) or pid_alive(tf_pid):
            live.append(f"{label} is still running")
        else:
            dead.append(f"{label} is gone although its journal says running (it died)")

    if live:
        return Verdict(LIVE, live + notes)
    if on_this_host or held.extra.get("fcntl_held") is False:
        return Verdict(DEAD, dead + notes)
    return Verdict(UNKNOWN, notes + dead)


def _judge_deploy_lock(held: HeldLock, runs_dir: Path, host: str) -> Verdict:
    """A deploy lock names its holder's pid and host outright: on this host that settles it."""
    extra = held.extra
    label = f"billingops pid {extra.get('holder_pid')} (run {extra.get('run_id')}, {extra.get('command')})"
    if extra.get("heartbeat"):
        return _judge_heartbeat(held, label, host)
    reasons: list[str] = []
    if extra.get("holder_host") == host:
        if pid_alive(extra.get("holder_pid")):
            return Verdict(LIVE, [f"{label} is still running on this host"])
        reasons.append(f"{label} on this host is gone")
        for run in _matching_runs(held, (), runs_dir):
            if pid_alive(run.get("pid")) and run.get("host") == host:
                return Verdict(LIVE, [f"billingops run {run.get('run_id')} (pid {run.get('pid')}) is still running"])
        return Verdict(DEAD, reasons)
    where = extra.get("holder_host") or "an unknown host"
    return Verdict(
        UNKNOWN,
        [f"{label} runs on {where}; its processes cannot be checked from here, so only the age rule protects it"],
    )


def _judge_heartbeat(held: HeldLock, label: str, host: str) -> Verdict:
    """A holder that renews its heartbeat is live wherever it runs; one that stopped renewing is not, even if
    its pid still exists (a frozen or SIGSTOPped process writes nothing until it wakes, and then it fences)."""
    from billingops.locks.heartbeat import heartbeat_age, machine_id, stale_after

    extra = held.extra
    age = heartbeat_age(held)
    try:
        every = float(extra.get("heartbeat_every") or 30.0)
    except (TypeError, ValueError):
        every = 30.0
    limit = stale_after(every)
    where = f"{extra.get('holder_host') or 'an unknown host'}"
    if extra.get("machine_id"):
        same = " (this machine)" if extra.get("machine_id") == machine_id() else ""
        where += f", machine id {str(extra['machine_id'])[:12]}{same}"
    this_machine = extra.get("holder_host") == host and extra.get("machine_id") in (None, "", machine_id())
    if this_machine and not pid_alive(extra.get("holder_pid")):
        return Verdict(DEAD, [f"{label} on this machine is gone (its last heartbeat was {age or 0:.0f}s ago)"])
    if age is None:
        return Verdict(UNKNOWN, [f"{label} on {where}: its heartbeat {extra.get('heartbeat')!r} cannot be read"])
    if age <= limit:
        return Verdict(LIVE, [f"{label} on {where} renewed its heartbeat {age:.0f}s ago (every {every:g}s)"])
    return Verdict(DEAD, [f"{label} on {where} has not renewed its heartbeat for {age:.0f}s (it renews every "
                          f"{every:g}s; stale after {limit:g}s)"])


def _matching_runs(held: HeldLock, identity: StateId, runs_dir: Path) -> list[dict[str, Any]]:
    from billingops.runs.journal import iter_journals

    matches = []
    ids = {held.lock_id, held.extra.get("json_id"), held.extra.get("run_id")} - {None, ""}
    for journal in iter_journals(runs_dir):
        data = journal.data
        if data.get("status") != "running":
            continue
        if data.get("run_id") in ids:
            matches.append(data)
            continue
        tf = data.get("terraform") or {}
        if tf.get("lock_id") and tf.get("lock_id") in ids:
            matches.append(data)
            continue
        backend = tf.get("backend") or {}
        if backend and _journal_identity(backend, tf) == identity:
            matches.append(data)
        elif (
            tf.get("data_dir")
            and tf.get("workdir")
            and _initialised_state(Path(tf["workdir"]), {"TF_DATA_DIR": str(tf["data_dir"])}) == identity
        ):
            matches.append(data)  # the run's terraform data dir is initialised for this very state
        elif not backend and data.get("env") == held.env and tf:
            matches.append(data)  # a run of this env driving terraform, before its data dir says which state
    return matches


def _journal_identity(backend: dict[str, Any], tf: dict[str, Any]) -> StateId | None:
    kind = backend.get("type") or "local"
    settings = backend.get("config") or backend.get("settings") or backend
    workspace = tf.get("workspace") or DEFAULT_WORKSPACE
    try:
        return state_identity(kind, settings, workspace, Path(tf.get("workdir") or "."))
    except Exception:  # noqa: BLE001  # a journal written by another version: no match rather than a crash
        return None
