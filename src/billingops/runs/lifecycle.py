"""The one run lifecycle of the commands that change an environment (deploy, migrate-cloud):
deploy lock -> journal (created, or the resumed one reopened) -> audit start -> ... -> outcome (journal and
audit end).

The lock is held under the run's journal id, so `locks` and `unlock` can tell whether its holder still runs;
the journal is opened (or reopened for --resume) only once the lock is held; a run that ends by an exception
is finished as the caller classifies it before the exception goes on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billingops.errors import EXIT_INTERRUPTED, BillingOpsError, ExternalError

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.runs.audit import AuditLog
    from billingops.runs.journal import Journal
    from billingops.session import Session

log = logging.getLogger(__name__)


class RunFailed(BillingOpsError):
    """A run that ended failed or interrupted. `result` is what it did (the command shows it before the
    error), `error` the error that ended it; the exit code is the error's, or EXIT_INTERRUPTED."""

    def __init__(self, result: Any, error: BillingOpsError, *, interrupted: bool = False,
                 resumable: bool = False) -> None:
        super().__init__(error.message, hint=error.hint, details=error.details)
        self.result, self.error, self.resumable = result, error, resumable
        self.title = error.title
        self.exit_code = EXIT_INTERRUPTED if interrupted else error.exit_code


@dataclass(frozen=True)
class DeployLock:
    """Which environment's billingops deploy lock the run holds, and how long it waits for it."""

    env: EnvConfig
    wait: float = 0.0
    backend_overrides: Sequence[str] = ()
    # A failure to take the lock, translated (only taking it: errors of the run itself pass through untouched).
    on_error: Callable[[ExternalError], BillingOpsError] | None = None


@dataclass(frozen=True)
class AuditSpelling:
    """How a command's run is written in the audit log, as each command has always written it."""

    phased: bool = False  # True: one event named after the command, with phase=start|end (migrate-cloud)
    outcome_key: str = "outcome"  # the end record's field for the outcome
    context: dict[str, Any] = field(default_factory=dict)  # fields on both records (deploy: env, cloud)


@dataclass
class Run:
    """A run in progress: its journal, and the audit records of its start and end."""

    command: str
    journal: Journal
    audit: AuditLog
    spelling: AuditSpelling
    ending: Callable[[], None] | None = None
    finished: bool = False

    @property
    def run_id(self) -> str:
        return self.journal.run_id

    def start(self, **fields: Any) -> None:
        self._record("start", fields)

    def finish(self, outcome: str, **fields: Any) -> None:
        """The run's outcome: the journal's status and the audit end record (once)."""
        if self.finished:
            return
        if self.ending is not None:
            self.ending()  # from here the last bookkeeping must not be cut short by a Ctrl-C
        self.finished = True
        self.journal.finish(outcome)
        self._record("end", {self.spelling.outcome_key: outcome, **fields})

    def _record(self, phase: str, fields: dict[str, Any]) -> None:
        if self.spelling.phased:
            self.audit.record(self.command, phase=phase, run_id=self.run_id, **self.spelling.context, **fields)
        else:
            self.audit.record(f"{self.command}.{phase}", run_id=self.run_id, **self.spelling.context, **fields)


def failed(_exc: BaseException) -> str:
    return "failed"


@contextlib.contextmanager
def held(session: Session, run_id: str, command: str, lock: DeployLock | None,
         ending: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold `lock` (None: no lock) for the block under `run_id`; `ending` runs first on the way out."""
    if lock is None:
        yield
        return
    from billingops.locks.deploy_lock import acquire

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(acquire(lock.env, run_id, command, wait=lock.wait,
                                        backend_overrides=list(lock.backend_overrides),
                                        runs_dir=session.settings.runs_dir))
        except ExternalError as exc:
            if lock.on_error is None:
                raise
            raise lock.on_error(exc) from None
        if ending is not None:
            stack.callback(ending)  # runs first on the way out: a Ctrl-C must not cut the release short
        yield


@contextlib.contextmanager
def run_lifecycle(
    session: Session,
    *,
    command: str,
    env_name: str,
    cloud: str,
    previous: Journal | None,
    lock: DeployLock | None,
    spelling: AuditSpelling | None = None,
    ending: Callable[[], None] | None = None,
    outcome_of: Callable[[BaseException], str] = failed,
) -> Iterator[Run]:
    """The run under its deploy lock: a new journal, or `previous` (the run to resume) reopened.

    The block calls `run.start(...)` when it begins its work and `run.finish(outcome, ...)` when it ends;
    an exception that leaves the block unfinished finishes the run as `outcome_of(exc)` says, then goes on.
    """
    from billingops.runs.audit import new_run_id
    from billingops.runs.journal import Journal

    run_id = previous.run_id if previous is not None else new_run_id()
    with held(session, run_id, command, lock, ending):
        if previous is not None:
            previous.reopen()
            journal = previous
        else:
            journal = Journal.create(session.settings.runs_dir, command=command, env=env_name, cloud=cloud,
                                     argv=session.argv, run_id=run_id)
        run = Run(command, journal, session.audit(), spelling or AuditSpelling(), ending)
        try:
            yield run
        except BaseException as exc:
            run.finish(outcome_of(exc))
            raise
