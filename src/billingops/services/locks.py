"""`billingops locks`: the terraform state locks and billingops deploy locks held on one or every environment."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import InitVar, dataclass
from typing import TYPE_CHECKING, Any

from billingops.errors import EXIT_EXTERNAL, BillingOpsError

if TYPE_CHECKING:
    from billingops.session import Session

log = logging.getLogger(__name__)


@dataclass
class LockListing:
    """Every lock held (HeldLock.to_dict()), and per environment that could not be read, why (with --all).

    Never an unchecked all-clear: `outcome` is "could not check" when any environment could not be read,
    `checked` names those that were, `could_not_check` says why for the others."""

    outcome: str
    locks: list[dict[str, Any]]
    checked: list[str]
    could_not_check: list[dict[str, str]]
    errors: list[dict[str, Any]]
    # The environments looked at: the table says which had no lock; not part of the --json document.
    envs: InitVar[Sequence[str]]

    def __post_init__(self, envs: Sequence[str]) -> None:
        self.searched = list(envs)

    @property
    def exit_code(self) -> int:
        """0, or 3 (could not check) when an environment could not be read."""
        return EXIT_EXTERNAL if self.errors else 0


def list_locks(session: Session, *, all_envs: bool = False, workspace: str | None = None,
               backend_config: list[str] | None = None) -> LockListing:
    """The locks of --env (its errors raise), or with all_envs of every configured environment (collected)."""
    from billingops.config import ENVIRONMENTS
    from billingops.locks.finder import find_locks

    names = (
        ([n for n in ENVIRONMENTS if n in session.settings.raw_envs] or list(ENVIRONMENTS))
        if all_envs
        else [session.env().name]
    )
    found: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for name in names:
        try:
            env = session.settings.env(name, session.cloud)
            held = find_locks(
                env,
                backend_overrides=backend_config or [],
                workspace=workspace,
                runs_dir=session.settings.runs_dir,
            )
        except BillingOpsError as err:
            if not all_envs:
                raise
            errors.append({"env": name, "error": err.message, "hint": err.hint, "exit_code": err.exit_code})
            continue
        found.extend(lock.to_dict() for lock in held)
    for problem in errors:
        session.ui.warn(f"{problem['env']}: {problem['error']} {problem['hint']}")
    unchecked = [{"env": e["env"], "why": f"{e['error']} {e['hint']}".strip()} for e in errors]
    checked = [n for n in names if n not in {e["env"] for e in errors}]
    outcome = "could not check" if unchecked else ("held" if found else "none held")
    return LockListing(outcome, found, checked, unchecked, errors, names)
