"""Run copy or verify slices in this process or in a pool of processes, funnelling their progress to the
parent.

Processes, not threads, because the per-key work (building RESTORE commands, parsing replies) is Python and
holds the GIL. Workers are plain `python -m billingops.transfer.redis.parallel` children talking JSON lines,
not multiprocessing: fork is unsafe once the CLI runs a Rich refresh thread, and spawn re-imports the caller's
main module. Errors cross the boundary as (module, class, message, hint) and are raised again here.
"""

from __future__ import annotations

import importlib
import json
import logging
import queue as queue_mod
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeAlias

from billingops.errors import BillingOpsError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

log = logging.getLogger(__name__)

# ("progress", child, [db, keys]) or ("done", child, its final JSON message or None); payloads are decoded JSON
_Event: TypeAlias = "tuple[str, _Child, Any]"


def _resolve(fn_path: str) -> Callable[..., Any]:
    """A slice function or result class named `module:name`; what it takes and returns is known only at run time."""
    module, name = fn_path.rsplit(":", 1)
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found


def run_inline(
    specs: Sequence[DataclassInstance],
    report: Callable[[int, int], None],
    on_done: Callable[[Any], None],
    *,
    fn_path: str = "billingops.transfer.redis.worker:copy_slice",
) -> None:
    """Run the slices one after the other here; `report` may come from a worker thread: serialise it."""
    lock = threading.Lock()

    def locked(db: int, keys: int) -> None:
        with lock:
            report(db, keys)

    fn = _resolve(fn_path)
    for spec in specs:
        on_done(fn(spec, locked))


def run_pool(
    specs: Sequence[DataclassInstance],
    jobs: int,
    report: Callable[[int, int], None],
    on_done: Callable[[Any], None],
    *,
    fn_path: str = "billingops.transfer.redis.worker:copy_slice",
    result_path: str = "billingops.transfer.redis.worker:SliceCounts",
    timeout: float | None = None,
) -> None:
    """Run the slices in at most `jobs` worker processes; results are rebuilt as `result_path` instances."""
    result_cls = _resolve(result_path)
    events: queue_mod.Queue[_Event] = queue_mod.Queue()
    running: list[_Child]
    waiting, running = list(specs), []
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                running.append(_Child(waiting.pop(0), fn_path, events))
            kind, child, payload = events.get(timeout=timeout)
            if kind == "progress":
                report(*payload)
                continue
            running.remove(child)
            child.wait()
            on_done(result_cls(**_unwrap(payload, child)))
    finally:
        for child in running:  # the run failed or was interrupted: stop the other slices now
            child.stop()


class _Child:
    """One worker process: the spec goes in on stdin (never argv: it holds passwords), events on stdout."""

    def __init__(self, spec: DataclassInstance, fn_path: str, events: queue_mod.Queue[_Event]) -> None:
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "billingops.transfer.redis.parallel"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
        )
        assert self.proc.stdin is not None  # nosec B101  # type narrowing only: Popen was given stdin=PIPE
        self.proc.stdin.write(json.dumps({"fn": fn_path, "spec": asdict(spec)}).encode())
        self.proc.stdin.close()
        self.events = events
        threading.Thread(target=self._pump, name="redis-worker-pump", daemon=True).start()

    def _pump(self) -> None:
        final = None
        assert self.proc.stdout is not None  # nosec B101  # type narrowing only: Popen was given stdout=PIPE
        try:
            for line in self.proc.stdout:
                try:
                    message = json.loads(line)
                except ValueError:  # something else wrote to stdout: not ours to interpret
                    log.debug("ignoring worker output: %r", line[:200])
                    continue
                if "progress" in message:
                    self.events.put(("progress", self, message["progress"]))
                else:
                    final = message
        finally:  # always wake the parent, even if reading failed
            self.events.put(("done", self, final))

    def wait(self) -> None:
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def stderr_tail(self) -> str:
        self.errors.seek(0)
        return self.errors.read()[-4000:].decode(errors="replace")


def _unwrap(outcome: dict[str, Any] | None, child: _Child) -> dict[str, Any]:
    if outcome is None:
        raise RuntimeError(
            f"a Redis worker process exited with code {child.proc.returncode} without a result:\n{child.stderr_tail()}"
        )
    if "ok" in outcome:
        result: dict[str, Any] = outcome["ok"]
        return result
    if "error" in outcome:
        module, name, message, hint = outcome["error"]
        cls = getattr(importlib.import_module(module), name, None)
        if not (isinstance(cls, type) and issubclass(cls, BillingOpsError)):
            cls = BillingOpsError
        raise cls(message, hint=hint)
    if "interrupted" in outcome:
        raise KeyboardInterrupt
    raise RuntimeError(f"a Redis worker process crashed:\n{outcome.get('crash')}")


def _child_main() -> None:
    """Runs in a worker process: one slice, JSON lines out."""
    request = json.loads(sys.stdin.read())
    fn = _resolve(request["fn"])
    spec_cls = fn.__annotations__.get("spec")
    spec_cls = _resolve_annotation(fn, spec_cls)
    out, lock = sys.stdout, threading.Lock()

    def emit(message: dict[str, Any]) -> None:
        with lock:
            out.write(json.dumps(message) + "\n")
            out.flush()

    try:
        result = fn(spec_cls(**request["spec"]), lambda db, keys: emit({"progress": [db, keys]}))
        emit({"ok": asdict(result)})
    except BillingOpsError as exc:
        emit({"error": [type(exc).__module__, type(exc).__qualname__, exc.message, exc.hint]})
    except KeyboardInterrupt:
        emit({"interrupted": True})
    except Exception:  # noqa: BLE001 - a bug in a worker: carry its traceback to the parent
        emit({"crash": traceback.format_exc()})


def _resolve_annotation(fn: Callable[..., Any], annotation: type | str | None) -> type:
    if isinstance(annotation, str):  # `from __future__ import annotations` keeps them as strings
        resolved: type = getattr(importlib.import_module(fn.__module__), annotation)
        return resolved
    if annotation is None:
        raise TypeError(f"{fn.__qualname__} has no annotated `spec` parameter to rebuild the slice spec with")
    return annotation


if __name__ == "__main__":
    _child_main()
