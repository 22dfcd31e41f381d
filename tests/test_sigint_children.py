"""The suite's children start with SIGINT at its default even when the suite itself was started with SIGINT
ignored (nohup, `cmd &` in a script): otherwise every Ctrl-C test hangs until its timeout."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD_SIGINT = ("import signal; h = signal.getsignal(signal.SIGINT); "
                 "print('default' if h is signal.default_int_handler else 'ignored' if h is signal.SIG_IGN else h)")


def _grandchild_sigint(restore: bool) -> str:
    """A process started with SIGINT ignored, as under nohup, starts a child and reports the child's SIGINT."""
    code = (
        "import signal, subprocess, sys\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "from tests.support.signals import restore_default_sigint\n"
        f"{'restore_default_sigint()' if restore else 'pass'}\n"
        f"print(subprocess.run([sys.executable, '-c', {_CHILD_SIGINT!r}], capture_output=True, text=True,"
        " check=True).stdout.strip())\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


def test_an_ignored_sigint_is_inherited_without_the_restore():
    assert _grandchild_sigint(restore=False) == "ignored"


def test_after_the_restore_children_get_sigint_at_its_default():
    assert _grandchild_sigint(restore=True) == "default"


def test_the_suite_itself_runs_with_sigint_caught():
    # tests.support.signals is a plugin of tests/conftest.py: its pytest_configure ran in this process
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
