"""The one subprocess wrapper: argv lists only (never a shell), a cleaned environment, timeouts, and
signal forwarding so that Ctrl-C reaches a child like terraform exactly once."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from billingops import redact
from billingops.errors import ExternalError, Interrupted, ToolMissing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def which(tool: str, *, hint: str = "") -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"`{tool}` was not found on PATH.", hint=hint or f"Install {tool} and retry.")
    return path


def run(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        timeout: float | None = 600, check: bool = True, input: str | None = None) -> Completed:
    """Run a command to completion; on failure raise ExternalError with command, code, stdout and stderr."""
    argv = [str(a) for a in argv]
    log.debug("run: %s", " ".join(redact.redact_argv(argv)))
    try:
        # errors="replace": a tool may print another encoding than ours (pg_restore --list names a LATIN1
        # database's objects in LATIN1); a strict decode would end the command with a traceback.
        proc = subprocess.run(argv, cwd=cwd, env=dict(env) if env is not None else None, capture_output=True,
                              text=True, errors="replace", timeout=timeout, input=input, check=False)
    except FileNotFoundError:
        raise ToolMissing(f"`{argv[0]}` was not found.", hint=f"Install {Path(argv[0]).name} and retry.") from None
    except subprocess.TimeoutExpired:
        raise ExternalError(f"`{Path(argv[0]).name}` did not finish within {timeout:.0f}s.",
                            hint="Check that the service it talks to is reachable, then retry.") from None
    result = Completed(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise command_failed(result)
    return result


def command_failed(result: Completed) -> ExternalError:
    tail = (result.stderr.strip() or result.stdout.strip())[-1500:]
    return ExternalError(
        f"`{' '.join(redact.redact_argv([Path(result.argv[0]).name, *result.argv[1:]]))}` exited with "
        f"{result.returncode}: {redact.redact(tail) or '(no output)'}",
        hint="Read the output above for the cause; fix it and retry.",
    )


class Streaming:
    """A child whose stdout is read line by line while it runs. SIGINT to us is forwarded once to it.

    The child runs in its own process group so the terminal's Ctrl-C reaches billingops only; billingops
    then sends one SIGINT, which lets terraform release its state lock. A second Ctrl-C kills the group.
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 on_start: Callable[[int], None] | None = None) -> None:
        self.argv = [str(a) for a in argv]
        self.interrupts = 0
        log.debug("stream: %s", " ".join(redact.redact_argv(self.argv)))
        try:
            self.proc = subprocess.Popen(self.argv, cwd=cwd, env=dict(env) if env is not None else None,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                                         start_new_session=True)
        except FileNotFoundError:
            raise ToolMissing(f"`{self.argv[0]}` was not found.", hint="Install it and retry.") from None
        if on_start:
            on_start(self.proc.pid)
        self._stderr: list[str] = []
        self._err_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._err_thread.start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None  # nosec B101  # type narrowing only: Popen was given stderr=PIPE
        for line in self.proc.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def lines(self) -> Iterator[str]:
        assert self.proc.stdout is not None  # nosec B101  # type narrowing only: Popen was given stdout=PIPE
        previous = _install_sigint(self._forward)
        try:
            for line in self.proc.stdout:
                yield line.rstrip("\n")
            self.proc.wait()
        finally:
            _restore_sigint(previous)
        self._err_thread.join(timeout=5)

    def _forward(self, signum: int, frame: object) -> None:
        self.interrupts += 1
        if self.proc.poll() is not None:
            return
        if self.interrupts == 1:
            log.warning("interrupt: asking %s to stop (Ctrl-C again to kill it)", Path(self.argv[0]).name)
            os.killpg(self.proc.pid, signal.SIGINT)
        else:
            os.killpg(self.proc.pid, signal.SIGKILL)

    @property
    def returncode(self) -> int:
        return self.proc.wait()

    def raise_if_interrupted(self, what: str) -> None:
        if self.interrupts:
            raise Interrupted(f"{what} was interrupted (Ctrl-C was forwarded to it).",
                              hint="Resume with --resume once you are ready.")


def _install_sigint(handler: Callable[[int, object], None]) -> object:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, handler)


def _restore_sigint(previous: object) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, previous)  # type: ignore[arg-type]  # a handler saved by signal.signal


# Never inherited by a child: secret values waiting for `secrets seed`, libpq's password, and terraform's
# debug logs (TF_LOG* print request bodies, secrets included).
_NEVER_INHERITED = ("BILLINGOPS_SECRET_", "TF_LOG")
_NEVER_INHERITED_NAMES = ("PGPASSWORD",)


def clean_env(extra: Mapping[str, str] | None = None, drop: Sequence[str] = ()) -> dict[str, str]:
    """The child's environment: ours minus `drop` and what no child may inherit, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k not in drop and k not in _NEVER_INHERITED_NAMES and not k.startswith(_NEVER_INHERITED)}
    env.update(extra or {})
    return env
