"""Start-up benchmark: median wall time of `billingops --help` next to `python -c pass`, same run.

Target: `billingops --help` under 250 ms median on a 2-core machine. Run: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
    helptime = median_seconds([sys.executable, "-m", "billingops", "--help"], args.runs)
    print(f"python -c pass      median {baseline * 1000:7.1f} ms over {args.runs} runs")
    print(f"billingops --help   median {helptime * 1000:7.1f} ms over {args.runs} runs")
    print(f"ratio               {helptime / baseline:7.2f}x the bare interpreter")
    print(f"target              {'met' if helptime < 0.250 else 'MISSED'} (< 250 ms)")


if __name__ == "__main__":
    main()
