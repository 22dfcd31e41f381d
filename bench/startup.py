"""Start-up benchmark: median wall time of `billingops --help` and of one shell-completion round trip (what bash
runs on every TAB: `_BILLINGOPS_COMPLETE=complete_bash COMP_WORDS='billingops dep' COMP_CWORD=1 billingops`),
next to `python -c pass` in the same run, interleaved.

Goal (issue 17): each <= 100 ms median on a 2-core machine. Run: python bench/startup.py [--runs N] [--check]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402  # after the sys.path change, on purpose

GOAL_SECONDS = 0.100
BASELINE, HELP, COMPLETE = "python -c pass", "billingops --help", "completion of `billingops dep<TAB>`"


def billingops_argv() -> list[str]:
    """The console script the shell runs (next to this interpreter), else `python -m billingops`."""
    script = Path(sys.executable).parent / "billingops"
    if script.is_file():
        return [str(script)]
    found = shutil.which("billingops")
    return [found] if found else [sys.executable, "-m", "billingops"]


def _runner(argv: list[str], env: dict[str, str] | None = None, expect: str | None = None):
    def run() -> None:
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        if expect is not None and expect not in out.stdout:
            raise RuntimeError(f"{argv} printed {out.stdout[:300]!r}, not {expect!r}")

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()
    prog = billingops_argv()
    completion_env = {**os.environ, "_BILLINGOPS_COMPLETE": "complete_bash", "COMP_WORDS": "billingops dep",
                      "COMP_CWORD": "1"}
    runs = harness.median_runs(
        {
            BASELINE: _runner([sys.executable, "-c", "pass"]),
            HELP: _runner([*prog, "--help"], expect="Usage"),
            COMPLETE: _runner(prog, completion_env, expect="deploy"),
        },
        args.runs,
    )
    goals = [harness.Goal(name, [], 0.0, max_seconds=GOAL_SECONDS) for name in (HELP, COMPLETE)]
    ok = harness.report(
        f"start-up: median of {args.runs} runs each, interleaved ({' '.join(prog)})",
        runs, goals, peers=[BASELINE], how=harness.median, how_name="median",
    )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
