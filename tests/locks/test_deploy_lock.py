"""The billingops deploy lock: real concurrent processes race for it on moto, fake-gcs-server, a file."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.locks.conftest import s3_backend_hcl

pytestmark = pytest.mark.slow

RACERS = 6
RACER = """
import sys, time
from pathlib import Path
from billingops.config import load_settings
from billingops.errors import Refused
from billingops.locks.deploy_lock import acquire

root, run_id = sys.argv[1], sys.argv[2]
start_at, hold, wait = (float(v) for v in sys.argv[3:6])
env = load_settings(cwd=Path(root)).env("dev")
while time.time() < start_at:
    time.sleep(0.001)
try:
    with acquire(env, run_id, "deploy", wait=wait, poll_seconds=0.2):
        print("WON", flush=True)
        release = Path(root) / "release"
        deadline = time.time() + (hold if hold >= 0 else 300)
        while time.time() < deadline and not (hold < 0 and release.exists()):
            time.sleep(0.05)
except Refused as err:
    print("REFUSED", err.paragraph(), flush=True)
    sys.exit(4)
"""


def _racers(project, count=RACERS, hold=2.0, wait=0.0, start_in=6.0):
    start_at = time.time() + start_in
    return [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(project.root), f"run-{i}", str(start_at), str(hold), str(wait)],
            cwd=project.root,
            env=project.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]


def _results(procs):
    return [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]


def _projects(make_project, kind, aws_state=None, gcs_state=None):
    if kind == "dynamodb":
        return make_project(
            '  backend "s3" {}',
            s3_backend_hcl(aws_state["url"], bucket=aws_state["bucket"], table=aws_state["table"], lockfile=False),
        )
    if kind == "s3":
        return make_project(
            '  backend "s3" {}',
            s3_backend_hcl(aws_state["url"], bucket=aws_state["bucket"], table=None, lockfile=True),
        )
    if kind == "gcs":
        return make_project(
            '  backend "gcs" {}',
            f'bucket = "{gcs_state["name"]}"\nprefix = "billing/dev"\n',
            cloud="gcp",
            env={"STORAGE_EMULATOR_HOST": gcs_state["url"]},
        )
    return make_project("", "")


@pytest.fixture(params=["dynamodb", "s3", "gcs", "local"])
def deploy_project(request, make_project):
    kind = request.param
    state = (
        {"aws_state": request.getfixturevalue("aws_state")}
        if kind in ("dynamodb", "s3")
        else {"gcs_state": request.getfixturevalue("gcs_state")}
        if kind == "gcs"
        else {}
    )
    return kind, _projects(make_project, kind, **state)


def test_exactly_one_of_many_racing_runners_wins(deploy_project, run_cli):
    kind, project = deploy_project
    procs = _racers(project, hold=-1)
    # the winner holds the lock until every other racer has finished, so a late starter cannot win after a
    # release: two winners can only mean two runners held the lock at the same time
    deadline = time.monotonic() + 120
    while sum(p.poll() is not None for p in procs) < RACERS - 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    (project.root / "release").touch()
    results = _results(procs)
    winners = [out for code, out, _ in results if code == 0]
    refused = [out for code, out, _ in results if code == 4]
    assert len(winners) == 1 and len(refused) == RACERS - 1, results
    assert all("held by" in out and "run-" in out for out in refused)
    listed = json.loads(run_cli("locks", "--env", "dev", "--json", **project.cli_args()).stdout)["locks"]
    assert listed == [], "the winner released its deploy lock on exit"


def test_waiting_runner_gets_the_lock_after_the_holder_releases(deploy_project):
    kind, project = deploy_project
    first = _racers(project, count=1, hold=2.0, start_in=0)[0]
    time.sleep(1.5 if kind in ("gcs",) else 1.0)
    second = _racers(project, count=1, hold=0.1, wait=30, start_in=0)[0]
    assert _results([first, second]) and first.returncode == 0 and second.returncode == 0


def test_dead_runners_deploy_lock_is_listed_refused_while_live_and_broken_once_dead(deploy_project, run_cli):
    kind, project = deploy_project
    holder = _racers(project, count=1, hold=300, start_in=0)[0]
    assert holder.stdout.readline().strip() == "WON"
    (lock,) = json.loads(run_cli("locks", "--env", "dev", "--json", **project.cli_args()).stdout)["locks"]
    assert lock["kind"] == "deploy" and lock["lock_id"] == "run-0" and lock["operation"] == "billingops deploy"
    assert lock["liveness"]["status"] == "live"

    live = run_cli("unlock", "--env", "dev", "--deploy-lock", "--yes", "--older-than", "0s", **project.cli_args())
    assert live.returncode == 4 and f"billingops pid {holder.pid}" in live.stderr
    state_only = run_cli("unlock", "--env", "dev", "--yes", "--older-than", "0s", **project.cli_args())
    assert state_only.returncode == 0 and "Nothing to unlock" in state_only.stdout, "state unlock ignores it"

    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    blocked = _results(_racers(project, count=1, hold=0, start_in=0))[0]
    assert blocked[0] == 4 and re.search(r"unlock --env dev --cloud (aws|gcp) --deploy-lock", blocked[1]), blocked[1]

    result = run_cli("unlock", "--env", "dev", "--deploy-lock", "--yes", "--older-than", "0s", **project.cli_args())
    assert result.returncode == 0, result.stderr
    assert json.loads(run_cli("locks", "--env", "dev", "--json", **project.cli_args()).stdout)["locks"] == []
    assert _results(_racers(project, count=1, hold=0, start_in=0))[0][0] == 0
