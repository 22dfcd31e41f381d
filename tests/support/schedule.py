"""Heaviest test files first, so the workers of `pytest -n N --dist loadfile` never start a five-minute file last.

xdist hands out whole files in collection order (pyproject's addopts turns off its own reordering by test count,
which put the one-test, many-minute files at the end). The weights are the seconds each file took in a recorded
run (`tests/durations.json`); a file not in it counts as light. Refresh them after a full run with
`BILLINGOPS_RECORD_DURATIONS=tests/durations.json .venv/bin/python -m pytest -p no:cacheprovider -n 3`.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

WEIGHTS = Path(__file__).resolve().parents[1] / "durations.json"
_spent: defaultdict[str, float] = defaultdict(float)


def _weights() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(WEIGHTS.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    weights = _weights()
    # Stable: tests keep their order inside a file, files of equal weight keep collection order.
    items.sort(key=lambda item: -weights.get(item.nodeid.split("::", 1)[0], 0.0))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _spent[report.nodeid.split("::", 1)[0]] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("BILLINGOPS_RECORD_DURATIONS")
    if not target or hasattr(session.config, "workerinput"):  # the controller sees every worker's reports
        return
    Path(target).write_text(json.dumps({k: round(v, 1) for k, v in sorted(_spent.items())}, indent=1) + "\n")
