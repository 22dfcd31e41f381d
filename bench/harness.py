"""What every bench in this folder shares: throwaway servers on free loopback ports, competitors run interleaved
round by round, the best (or median) of the rounds, a table of times with ratios against the best peer measured
in the same run, and goals that turn into a non-zero exit with --check.

    from bench import harness
    runs = harness.interleave([harness.Entry("pg_dump | psql", dump), harness.Entry("billingops", ours)], rounds=3)
    ok = harness.report("shape (a)", runs, [harness.Goal("billingops", ["pg_dump | psql"], 0.85)])

Not a test: the machine is shared, so every figure is printed next to the load average at the time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tests.support import servers  # noqa: E402  # after the sys.path change, on purpose

# Same settings on both clusters for every tool; durability off as in the test clusters.
PG_SETTINGS = {
    "max_wal_size": "'8GB'",
    "checkpoint_timeout": "'30min'",
    "shared_buffers": "'256MB'",
    "max_connections": "80",
    "wal_level": "'replica'",
}


@dataclass
class Entry:
    """One competitor. `run` returns the seconds it measured itself, or None to be timed by the harness;
    `prepare` runs untimed before every run (empty the target)."""

    name: str
    run: Callable[[], float | None]
    prepare: Callable[[], None] | None = None
    note: Callable[[], str] | None = None  # printed after each run (billingops' phases)


@dataclass
class Runs:
    times: dict[str, list[float]] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def best(self, name: str, how: Callable[[list[float]], float] = min) -> float:
        return how(self.times[name])


@dataclass(frozen=True)
class Goal:
    """`ours` must take at most `max_ratio` times the best of `peers` (for a rate goal such as ">= 2x keys/s",
    pass 1/2: the time ratio is the inverse of the rate ratio)."""

    ours: str
    peers: list[str]
    max_ratio: float
    label: str = ""
    max_seconds: float | None = None  # an absolute goal instead (start-up times): peers and ratio unused
    rate: bool = False  # print the goal as a rate ratio (keys/s: ours / best peer >= 1 / max_ratio)


def interleave(entries: list[Entry], rounds: int, *, verbose: bool = True) -> Runs:
    """Every entry once per round, the starting entry rotating so no tool always runs first (warm caches) or
    last (a busy neighbour)."""
    runs = Runs()
    for round_no in range(rounds):
        if verbose:
            print(f"== round {round_no + 1}/{rounds} (load average {os.getloadavg()[0]:.2f})", flush=True)
        shift = round_no % max(1, len(entries))
        for entry in entries[shift:] + entries[:shift]:
            if entry.prepare:
                entry.prepare()
            started = time.perf_counter()
            measured = entry.run()
            seconds = time.perf_counter() - started if measured is None else measured
            runs.loads.append(os.getloadavg()[0])
            runs.times.setdefault(entry.name, []).append(seconds)
            note = entry.note() if entry.note else ""
            if note:
                runs.notes.setdefault(entry.name, []).append(note)
            if verbose:
                print(f"   {entry.name}: {_fmt(seconds)}{'  ' + note if note else ''}", flush=True)
    return runs


def median_runs(fns_by_name: dict[str, Callable[[], None]], runs: int) -> Runs:
    """Many short runs, interleaved one by one (for start-up times, where the median is the figure)."""
    def timed_by_harness(fn: Callable[[], None]) -> Callable[[], None]:
        return lambda: fn()  # returns None: the harness measures the wall time

    entries = [Entry(name, timed_by_harness(fn)) for name, fn in fns_by_name.items()]
    return interleave(entries, runs, verbose=False)


def report(
    title: str,
    runs: Runs,
    goals: list[Goal],
    *,
    peers: list[str] | None = None,
    items: int | None = None,
    how: Callable[[list[float]], float] = min,
    how_name: str = "best",
) -> bool:
    """Print the table and the goals; True when every goal is met. Ratios are against the best of `peers`
    (default: every entry) measured in this run."""
    best = {name: how(times) for name, times in runs.times.items()}
    peer_names = [p for p in (peers or list(best)) if p in best]
    reference = min(best[p] for p in peer_names) if peer_names else None
    print(f"\n{title}")
    head = f"  {'':38} {how_name:>9}"
    if items:
        head += f" {'per s':>11}"
    print(head + f" {'time vs best':>13}   all rounds")
    for name, seconds in sorted(best.items(), key=lambda kv: kv[1]):
        line = f"  {name:38} {_fmt(seconds):>9}"
        if items:
            line += f" {items / seconds:>11,.0f}"
        ratio = f"{seconds / reference:.2f}x" if reference else "-"
        line += f" {ratio:>13}   [{', '.join(_fmt(t) for t in runs.times[name])}]"
        print(line)
    if runs.loads:
        print(
            f"  load average after the runs {min(runs.loads):.2f}-{max(runs.loads):.2f} "
            f"({os.cpu_count()} cores)"
        )
    ok = True
    for goal in goals:
        if goal.max_seconds is not None and goal.ours in best:
            met = best[goal.ours] <= goal.max_seconds
            ok &= met
            print(f"  goal {goal.label or goal.ours}: {_fmt(best[goal.ours])} (<= {_fmt(goal.max_seconds)}) "
                  f"{'met' if met else 'MISSED'}")
            continue
        have = [p for p in goal.peers if p in best]
        if goal.ours not in best or not have:
            print(f"  goal {goal.label or goal.ours}: not measured (missing {goal.ours} or every peer)")
            continue
        ratio = best[goal.ours] / min(best[p] for p in have)
        met = ratio <= goal.max_ratio
        ok &= met
        if goal.rate:
            print(f"  goal {goal.label}: {1 / ratio:.2f}x the rate (>= {1 / goal.max_ratio:.2f}x) "
                  f"{'met' if met else 'MISSED'}")
            continue
        print(
            f"  goal {goal.label or goal.ours + ' / best of ' + ', '.join(have)}: {ratio:.2f}x "
            f"(<= {goal.max_ratio:.2f}x) {'met' if met else 'MISSED'}"
        )
    return ok


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def common_args(parser: argparse.ArgumentParser, rounds: int = 3) -> None:
    parser.add_argument("--rounds", type=int, default=rounds, help="runs of every competitor; the best counts")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    # A bench stopped by `timeout` or kill must still stop its servers (pg_ctl daemonizes them): SIGTERM
    # unwinds like Ctrl-C, through the `finally` blocks below.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # the postgres user must reach the data directories below it
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def postgres_pair(
    base: Path, settings: dict[str, str] | None = None
) -> Iterator[tuple[servers.PostgresCluster, servers.PostgresCluster]]:
    """A source and a target PostgreSQL cluster (the installed major, 15 here) with the same settings."""
    clusters = []
    try:
        for side in ("src", "dst"):
            (base / side).mkdir()
            clusters.append(servers.start_postgres(base / side, {**PG_SETTINGS, **(settings or {})}))
        yield clusters[0], clusters[1]
    finally:
        for cluster in clusters:
            servers.stop_postgres(cluster)


@contextlib.contextmanager
def redis_pair(base: Path, password: str | None = None) -> Iterator[tuple[servers.RedisServer, servers.RedisServer]]:
    started = []
    try:
        for side in ("rsrc", "rdst"):
            (base / side).mkdir()
            started.append(servers.start_redis(base / side, password=password))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def median(values: list[float]) -> float:
    return statistics.median(values)
