"""Deploy overhead: how much more wall time `billingops deploy --sandbox` spends, up to the end of its apply
step, than the terraform init / plan / apply it runs would take run directly.

Each round starts a fresh sandbox (its own state directory: moto, the module copy, an empty state), so every
round makes the same change: the whole dev environment created from nothing. The sandbox is started before the
clock starts (`billingops sandbox up`): the emulated cloud and its state bucket must exist for a direct terraform
run too, and its boot (moto, a throwaway PostgreSQL) is the emulator's cost, not the deploy's. A `terraform` shim
first on PATH
times every terraform process billingops starts (it adds one bash fork per call, counted against billingops).
The direct cost is the first `init`, `plan` and `apply`: the three commands an operator would type. Everything
else up to the end of the apply step is billingops' overhead: its start-up, the deploy lock, the
preflight checks, the other terraform calls (`show -json` of the plan for the approval gate, `output`,
`version`), journal and audit writes. The later steps (secrets, migrations, rollout) are work terraform does not
do and are shown apart.

Goal (issue 17): wall time to the end of apply <= 1.03x the direct init + plan + apply.

    python bench/deploy_overhead.py [--rounds 3] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness  # noqa: E402  # after the sys.path change, on purpose

ROOT = harness.ROOT
GOAL = 1.03
DIRECT = ("init", "plan", "apply")

SHIM = """#!/bin/bash
# bench/deploy_overhead.py: time one terraform process, then pass its exit code on.
start=$(date +%s.%N)
"{real}" "$@"
code=$?
end=$(date +%s.%N)
sub=""
for arg in "$@"; do case "$arg" in -*) ;; *) sub="$arg"; break;; esac; done
printf '%s %s %s %s\\n' "$sub" "$start" "$end" "$code" >> "{log}"
exit $code
"""


def _billingops() -> list[str]:
    script = Path(sys.executable).parent / "billingops"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "billingops"]


def _shim(bin_dir: Path, log: Path) -> None:
    real = shutil.which("terraform")
    if real is None:
        raise SystemExit("terraform is not on PATH: install Terraform >= 1.11 first.")
    shim = bin_dir / "terraform"
    shim.write_text(SHIM.format(real=real, log=log))
    shim.chmod(0o755)


def _calls(log: Path) -> list[tuple[str, float, float]]:
    calls = []
    for line in log.read_text().splitlines() if log.exists() else []:
        sub, start, end, _code = line.split()
        calls.append((sub, float(start), float(end)))
    return calls


def one_round(base: Path) -> dict[str, float | str]:
    """One sandbox deploy from nothing; the seconds of each part."""
    state, bin_dir = base / "state", base / "bin"
    bin_dir.mkdir(parents=True)
    log = base / "terraform-calls.txt"
    _shim(bin_dir, log)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "BILLINGOPS_STATE_DIR": str(state)}
    argv = [*_billingops(), "deploy", "--env", "dev", "--sandbox", "--yes", "--json"]
    try:
        up = subprocess.run([*_billingops(), "sandbox", "up"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
        if up.returncode != 0:
            raise SystemExit(f"`billingops sandbox up` failed (exit {up.returncode}):\n{up.stderr[-3000:]}")
        began = time.time()
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        ended = time.time()
    finally:
        subprocess.run([*_billingops(), "sandbox", "down"], cwd=ROOT, env=env, capture_output=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"the sandbox deploy failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    journal = max((state / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    steps = {s["name"]: s for s in json.loads(journal.read_text())["steps"]}
    apply_end = float(steps["apply"]["finished"])
    calls = _calls(log)
    first: dict[str, float] = {}
    other = Counter[str]()
    other_seconds = 0.0
    for sub, start, end in calls:
        if start > apply_end:
            continue
        if sub in DIRECT and sub not in first:
            first[sub] = end - start
        else:
            other[sub] += 1
            other_seconds += end - start
    missing = [sub for sub in DIRECT if sub not in first]
    if missing:
        raise SystemExit(f"the deploy ran no terraform {', '.join(missing)} before its apply ended: {calls}")
    direct = sum(first.values())
    to_apply = apply_end - began
    first_call = min(start for _, start, _ in calls)
    return {
        "to_apply": to_apply,
        "direct": direct,
        "init": first["init"],
        "plan": first["plan"],
        "apply": first["apply"],
        "before_terraform": first_call - began,
        "other_terraform": other_seconds,
        "other_calls": ", ".join(f"{sub} x{n}" for sub, n in sorted(other.items())) or "none",
        "after_apply": ended - apply_end,
        "timeline": "; ".join(f"{sub} {start - began:.2f}-{end - began:.2f}" for sub, start, end in calls),
        "steps": "; ".join(f"{name} {float(s['started']) - began:.2f}-{float(s['finished']) - began:.2f}"
                           for name, s in steps.items() if s.get("finished") and s.get("started")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    harness.common_args(parser)
    args = parser.parse_args()
    results = []
    for number in range(args.rounds):
        print(f"== round {number + 1}/{args.rounds} (load average {os.getloadavg()[0]:.2f})", flush=True)
        base = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
        try:
            result = one_round(base)
        finally:
            shutil.rmtree(base, ignore_errors=True)
        result["load"] = os.getloadavg()[0]
        results.append(result)
        print(f"   to the end of apply {result['to_apply']:.2f} s; direct init+plan+apply {result['direct']:.2f} s "
              f"({result['init']:.2f} + {result['plan']:.2f} + {result['apply']:.2f}); "
              f"ratio {float(result['to_apply']) / float(result['direct']):.3f}x", flush=True)
        print(f"   terraform calls (s from start): {result['timeline']}\n   steps: {result['steps']}", flush=True)
    best = min(results, key=lambda r: float(r["to_apply"]) / float(r["direct"]))
    ratio = float(best["to_apply"]) / float(best["direct"])
    overhead = float(best["to_apply"]) - float(best["direct"])
    print(f"\ndeploy overhead, sandbox, best of {args.rounds} rounds (load average at its end {best['load']:.2f}, "
          f"{os.cpu_count()} cores)")
    print(f"  terraform init + plan + apply (the direct run)   {float(best['direct']):8.2f} s")
    print(f"  billingops deploy, start to end of apply         {float(best['to_apply']):8.2f} s")
    print(f"  overhead                                         {overhead:8.2f} s, of which:")
    before = float(best["before_terraform"])
    print(f"    before the first terraform call (start-up, deploy lock, preflight) {before:.2f} s")
    print(f"    other terraform calls ({best['other_calls']})  {float(best['other_terraform']):.2f} s")
    rest = overhead - float(best["before_terraform"]) - float(best["other_terraform"])
    print(f"    between terraform calls (plan summary, approval, journal, audit)  {rest:.2f} s")
    after = float(best["after_apply"])
    print(f"  after apply (secrets, migrations, rollout, verify: not terraform's work) {after:.2f} s")
    met = ratio <= GOAL
    print(f"  goal: {ratio:.3f}x the direct run (<= {GOAL:.2f}x) {'met' if met else 'MISSED'}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
