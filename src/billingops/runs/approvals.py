"""Approvals bound to the plan they approved.

Each answer of the approval gate is recorded in the run journal (top-level `approvals`, never carried into
another run by `--from`/`--only`): who, when, how (typed, --yes, --yes --allow-destroy, confirmed), the outcome
(passed, refused) and the SHA-256 of the plan file. `require` is what `apply` calls before terraform runs: the
plan file must hash to a passed approval of this run (a resumed run keeps its journal, so its approvals count).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from billingops.errors import Refused
from billingops.runs.audit import who
from billingops.runs.journal import Journal

PASSED, REFUSED = "passed", "refused"


def plan_digest(planfile: Path) -> str:
    digest = hashlib.sha256()
    with planfile.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def record(journal: Journal, planfile: Path, *, how: str, outcome: str) -> dict[str, Any]:
    """Append one answer of the gate to the journal (saved at once) and return it."""
    entry = {
        "who": who(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "how": how, "outcome": outcome,
        "planfile": str(planfile), "plan_sha256": plan_digest(planfile) if planfile.is_file() else None,
    }
    journal.data.setdefault("approvals", []).append(entry)
    journal.save()
    return entry


def require(journal: Journal, planfile: Path) -> dict[str, Any]:
    """The passed approval of this run for exactly these plan bytes; Refused (exit 4) otherwise."""
    env = journal.data.get("env") or "ENV"
    again = f"Run the deploy again (`billingops deploy --env {env}`): it plans and asks for approval."
    passed: list[dict[str, Any]] = [a for a in journal.data.get("approvals", []) if a.get("outcome") == PASSED]
    if not passed:
        raise Refused(f"Run {journal.run_id} has no approval for the saved plan {planfile.name}; "
                      "nothing was applied.", hint=again)
    if not planfile.is_file():
        raise Refused(f"The approved plan {planfile} is gone; nothing was applied.", hint=again)
    actual = plan_digest(planfile)
    for approval in reversed(passed):
        if approval.get("plan_sha256") == actual:
            return dict(approval)
    raise Refused(f"The saved plan {planfile.name} is not the plan that was approved in run {journal.run_id} "
                  f"(SHA-256 {actual[:12]}…); nothing was applied.", hint=again)
