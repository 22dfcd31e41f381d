#!/usr/bin/env python3
"""A/B benchmark: billingops from another checkout (before) against this one (after) on one shape of
bench/pg_shapes.py, interleaved round by round in one bench process with the peers, so that both see the same
load on a shared machine.

    python bench/pg_ab.py --before /work/main/.venv/bin/python --shape c --scale 0.5 --skip "pgcopydb clone"

--before is the Python of a virtualenv where the other checkout is installed (`pip install -e`): its
`python -m billingops` is the "before" entry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness, pg_shapes  # noqa: E402  # after the sys.path change, on purpose


class AB(pg_shapes.Competitors):
    """pg_shapes' tools plus the other checkout's billingops in both verification modes."""

    def __init__(self, before: str, *args: object) -> None:
        super().__init__(*args)
        self.before = before

    def entries(self, skip: set[str]) -> list[harness.Entry]:
        found = super().entries(skip)
        for mode in ("counts", "full"):
            found.append(harness.Entry(f"before (verify {mode})", lambda mode=mode: self.run_before(mode),
                                       self.fresh(f"t_before_{mode}"),
                                       lambda mode=mode: self.last_phases[f"before {mode}"]))
        return found

    def run_before(self, mode: str) -> None:
        self.billingops(mode, python=self.before, label="before")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="python of the virtualenv holding the other checkout")
    parser.add_argument("--shape", default="c", choices=sorted(pg_shapes.SHAPES))
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma list of competitors to leave out")
    harness.common_args(parser)
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    with harness.workdir("billingops-bench-ab-") as base, harness.postgres_pair(base) as (source, target):
        title, loader = pg_shapes.SHAPES[args.shape]
        url = source.createdb(f"shape_{args.shape}")
        print(f"\n### {title}: loading (scale {args.scale}) ...", flush=True)
        loader(url, args.scale)
        about = pg_shapes.describe(url)
        tools = AB(args.before, url, target, base / "work", args.jobs)
        runs = harness.interleave(tools.entries(skip), args.rounds)
        peers = [pg_shapes.PGCOPYDB, pg_shapes.DUMP]
        harness.report(
            f"{title} - {about} - best of {args.rounds}, --jobs {args.jobs}, A/B", runs,
            [harness.Goal(name, peers, 0.85) for name in (pg_shapes.OURS, "before (verify counts)")]
            + [harness.Goal(name, [pg_shapes.DUMP], 0.90) for name in (pg_shapes.OURS_FULL, "before (verify full)")],
            peers=peers,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
