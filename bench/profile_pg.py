#!/usr/bin/env python3
"""Where does a billingops PostgreSQL migration spend its wall time? One run of migrate-cloud on one shape of
bench/pg_shapes.py, seen three ways:

  1. its own phases and events (`--json`: per-unit COPY seconds, when each table was indexed, each FK added);
  2. both servers' connection logs: how many connections each client program opened, how long they lived;
  3. a py-spy sampling profile (wall clock, idle included, every thread) summarised by the innermost
     billingops line: what each worker thread was waiting on (pip install py-spy; skipped without it).

    python bench/profile_pg.py --shape b --scale 0.02
    python bench/profile_pg.py --shape a --scale 0.1 --save /tmp/prof-a   # raw stacks etc. kept
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import migrate_cli  # noqa: E402

from bench import harness, pg_shapes  # noqa: E402  # after the sys.path change, on purpose

LOG_SETTINGS = {
    "log_connections": "on",
    "log_disconnections": "on",
    "log_line_prefix": "'%m [%p] app=%a '",
    # every index build and key validation with its duration, to read the critical path (--save keeps the logs)
    "log_min_duration_statement": "200",
}
RATE = 50  # py-spy samples per second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="b", choices=sorted(pg_shapes.SHAPES))
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--verify", default="full", choices=["counts", "full"])
    parser.add_argument("--no-py-spy", action="store_true", help="time the run without the sampler")
    parser.add_argument("--save", type=Path, help="keep the run's output, events, server logs and raw py-spy "
                        "stacks (for a flame graph) in this directory")
    args = parser.parse_args()
    py_spy = None if args.no_py_spy else shutil.which("py-spy") or _beside_python("py-spy")
    if not args.no_py_spy and not py_spy:
        print("py-spy not found (pip install py-spy): profiling phases, events and connections only")
    with harness.workdir("billingops-profile-") as base, harness.postgres_pair(base, LOG_SETTINGS) as (src, dst):
        title, loader = pg_shapes.SHAPES[args.shape]
        source_url = src.createdb("shape")
        print(f"loading {title} (scale {args.scale}) ...", flush=True)
        loader(source_url, args.scale)
        print(f"  {pg_shapes.describe(source_url)}", flush=True)
        target_url = dst.createdb("target")
        logs = {"source": base / "src" / "pg.log", "target": base / "dst" / "pg.log"}
        offsets = {side: path.stat().st_size for side, path in logs.items()}
        work = base / "run"
        work.mkdir()
        argv = migrate_cli.argv(*migrate_cli.postgres(source_url, target_url), "--jobs", str(args.jobs),
                                "--verify", args.verify, "--yes")
        stacks = base / "stacks.txt"
        env = {**os.environ, "CI": "true", "NO_COLOR": "1"}
        began = time.perf_counter()
        with open(base / "stdout", "w+") as stdout, open(base / "stderr", "w+") as stderr:
            proc = subprocess.Popen(argv, cwd=work, env=env, stdout=stdout, stderr=stderr, text=True)
            sampler = None
            if py_spy:
                # Attached, not wrapping: its status lines stay out of the JSON, and --nonblocking never pauses
                # the run (blocking sampling of a dozen threads at 250 Hz tripled the wall time here).
                sampler = subprocess.Popen(
                    [py_spy, "record", "--pid", str(proc.pid), "--idle", "--threads", "--nonblocking",
                     "--rate", str(RATE), "--format", "raw", "--output", str(stacks)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            returncode = proc.wait()
            wall = time.perf_counter() - began
            if sampler:
                sampler.wait(timeout=60)
            stdout.seek(0)
            stderr.seek(0)
            out = subprocess.CompletedProcess(argv, returncode, stdout.read(), stderr.read())
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / "stdout.txt").write_text(out.stdout)
            (args.save / "stderr.txt").write_text(out.stderr)
            for side, path in logs.items():
                shutil.copy(path, args.save / f"{side}-pg.log")
            if stacks.is_file():
                shutil.copy(stacks, args.save / "stacks.txt")
        if out.returncode != 0:
            print(out.stderr[-4000:])
            return 1
        doc = json.loads(out.stdout)
        print(f"\nwall {wall:.2f} s{' (under py-spy)' if py_spy else ''}; phases: "
              + ", ".join(f"{k} {v:.2f}" for k, v in doc["postgres"]["seconds"].items()))
        _events(out.stderr)
        for side, path in logs.items():
            _connections(side, path.read_text(errors="replace")[offsets[side]:])
        _fixed_costs(source_url, target_url, base / "schema.dump")
        if py_spy and stacks.is_file():
            _stacks(stacks.read_text())
    return 0


def _fixed_costs(source_url: str, target_url: str, dump: Path, runs: int = 9) -> None:
    """What one child process costs on this machine now: the floor under every per-table step."""

    def median_ms(argv: list[str]) -> float:
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - began)
        return statistics.median(times) * 1000

    print(f"\nfixed costs, median of {runs} (load average {os.getloadavg()[0]:.1f})")
    connect = median_ms(["psql", "-X", "-d", target_url, "-c", "SELECT 1"])
    print(f"  psql connect + SELECT 1 + exit           {connect:7.1f} ms")
    # the same schema-only custom-format dump billingops takes (postgres_schema.dump_schema)
    began = time.perf_counter()
    subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-acl", "--format=custom", "--file", str(dump),
                    "--dbname", source_url], check=True)
    print(f"  pg_dump --schema-only -Fc                {(time.perf_counter() - began) * 1000:7.1f} ms")
    listing = subprocess.run(["pg_restore", "--list", str(dump)], check=True, capture_output=True, text=True).stdout
    entries = [line for line in listing.splitlines() if " INDEX " in line or " CONSTRAINT " in line][:1]
    listfile = dump.parent / "one-entry.list"
    listfile.write_text("\n".join(entries) + "\n")
    print(f"  pg_restore --list of the schema dump     {median_ms(['pg_restore', '--list', str(dump)]):7.1f} ms"
          f"  ({len(listing.splitlines())} TOC lines, {dump.stat().st_size / 1e3:.0f} kB)")
    print(f"  pg_restore -L <one entry> -f /dev/null   "
          f"{median_ms(['pg_restore', '--use-list', str(listfile), '-f', '/dev/null', str(dump)]):7.1f} ms"
          "  (no connection: the TOC read every per-table restore pays)")


def _beside_python(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.is_file() else None


def _events(stderr: str) -> None:
    events = []
    for line in stderr.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    if not events:
        return
    t0 = events[0]["ts"]
    kinds = collections.Counter(e.get("event") for e in events)
    print("\nevents (--json on stderr): " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    phases = [(e["ts"] - t0, e.get("phase") or e.get("name"), e.get("message", "")) for e in events
              if e.get("event") == "phase"]
    for at, name, message in phases:
        print(f"  +{at:7.2f} s  phase {name}: {message}")
    units = [e for e in events if e.get("event") in ("unit_done", "table_done", "unit")]
    seconds = [e["seconds"] for e in units if isinstance(e.get("seconds"), int | float)]
    if seconds:
        print(f"  COPY units: {len(seconds)}, seconds each min {min(seconds):.3f} / median "
              f"{statistics.median(seconds):.3f} / max {max(seconds):.3f}, sum {sum(seconds):.1f}")
    for kind in ("table_indexed", "foreign_key_added"):
        times = [e["ts"] - t0 for e in events if e.get("event") == kind]
        if len(times) > 1:
            gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
            print(f"  {kind}: {len(times)} from +{times[0]:.2f} s to +{times[-1]:.2f} s, "
                  f"median gap {statistics.median(gaps) * 1000:.0f} ms")


_CONN = re.compile(r"\[(\d+)\] app=(\S*) LOG:  (connection authorized|disconnection): (?:session time: "
                   r"(\d+):(\d+):([\d.]+))?")


def _connections(side: str, log: str) -> None:
    apps: dict[str, list[float]] = collections.defaultdict(list)
    for match in _CONN.finditer(log):
        if match.group(3) == "disconnection" and match.group(4):
            h, m, s = int(match.group(4)), int(match.group(5)), float(match.group(6))
            apps[match.group(2) or "(none)"].append(h * 3600 + m * 60 + s)
    if not apps:
        return
    print(f"\n{side} server connections (program: count, session seconds median / sum)")
    for app, lives in sorted(apps.items(), key=lambda kv: -len(kv[1])):
        print(f"  {app:24} {len(lives):5}  {statistics.median(lives):7.3f} / {sum(lives):8.2f}")


_FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")


def _stacks(raw: str) -> None:
    """py-spy raw lines: `thread (0x..);frame;frame... count`, outermost first."""
    by_thread: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    leaf_total: collections.Counter[str] = collections.Counter()
    totals: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        thread, frames = _thread_kind(frames), frames[1:]
        ours = [f for f in frames if "billingops/" in f and "site-packages" not in f]
        where = _short(ours[-1]) if ours else "(outside billingops: " + (_short(frames[-1]) if frames else "?") + ")"
        leaf = _short(frames[-1]) if frames else "?"
        by_thread[thread][f"{where}  <- {leaf}"] += int(count)
        totals[thread] += int(count)
        leaf_total[leaf] += int(count)
    print(f"\npy-spy wall-clock samples ({RATE}/s, idle included), by thread kind: innermost billingops line "
          "<- innermost frame")
    for thread, counter in sorted(by_thread.items(), key=lambda kv: -totals[kv[0]]):
        if totals[thread] < RATE / 2:
            continue  # under half a thread-second
        print(f"  [{thread}] {totals[thread] / RATE:.2f} thread-seconds")
        for where, count in counter.most_common(12):
            print(f"    {count / RATE:7.2f} s {100 * count / totals[thread]:5.1f}%  {where}")


def _thread_kind(frames: list[str]) -> str:
    head = frames[0] if frames else "?"
    if "MainThread" in head or any("<module>" in f for f in frames[1:3]):
        return "main thread"
    joined = ";".join(frames)
    for marker, name in (("copy_unit", "COPY worker"), ("restore_entries", "index/FK worker"),
                         ("_Drain", "stream drain"), ("watchdog", "watchdog"), ("CopyMonitor", "copy monitor")):
        if marker in joined:
            return name
    # one short-lived thread per pipe end: fold them by name, without ids and numbers
    return re.sub(r"thread \(\d+\):?\s*|\s*\(0x[0-9a-f]+\)|-\d+|_\d+", "", head).strip() or "thread"


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    if "billingops/" in path:
        path = "billingops/" + path.rsplit("billingops/", 1)[1]
    else:
        path = Path(path).name
    return f"{match.group('fn')} {path}:{match.group('line')}"


if __name__ == "__main__":
    raise SystemExit(main())
