"""The deploy checklist with real terraform: journal, resume after an injected failure, approval gate,
dry run, SIGINT forwarding. Steps after `apply` need a cloud and are covered by their own tests and the
sandbox test; here the fixture module has none of their outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.support.deploy_project import journals, make_project, step_outcomes

TERRAFORM_STEPS = ("preflight", "init", "plan", "approval", "apply")


def test_no_tty_and_no_yes_fails_the_approval_naming_the_flag(project, run_cli):
    result = run_cli("deploy", "--env", "dev", cwd=project)
    assert result.returncode == 4
    assert "--yes" in result.stderr
    outcomes = step_outcomes(journals(project)[-1])
    assert outcomes["plan"] == "ok" and outcomes["approval"] == "failed"
    assert "apply" not in outcomes or outcomes["apply"] != "ok"
    assert not (project / "state" / "dev.tfstate").exists() or '"resources": []' in (
        project / "state" / "dev.tfstate").read_text()


def test_dry_run_plans_and_changes_nothing(project, run_cli):
    result = run_cli("deploy", "--env", "dev", "--dry-run", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "ok" and doc["dry_run"] is True
    outcomes = {s["name"]: s["outcome"] for s in doc["steps"]}
    assert outcomes["plan"] == "ok" and outcomes["apply"] == "not-run"
    assert set(doc) >= {"run_id", "env", "cloud", "outcome", "steps"}
    assert set(doc["steps"][0]) == {"name", "outcome", "detail", "seconds"}
    assert not (project / "state" / "dev.tfstate").exists()


def test_resume_after_a_failed_apply_replans_and_does_not_redo_done_steps(tmp_path, tf_env, run_cli):
    marker = tmp_path / "fail-now"
    marker.write_text("x")
    project = make_project(tmp_path / "p", tfvars=f'environment = "dev"\nmarker = "{marker}"\n')
    first = run_cli("deploy", "--env", "dev", "--yes", "--json", cwd=project)
    assert first.returncode == 3, first.stderr  # terraform failed: an external tool error
    assert "injected failure" in first.stderr
    run = journals(project)[-1]
    assert step_outcomes(run)["apply"] == "failed"
    assert "--resume" in first.stderr

    marker.unlink()
    second = run_cli("deploy", "--env", "dev", "--yes", "--resume", "--json", cwd=project)
    doc = json.loads(second.stdout)
    assert doc["run_id"] == run["run_id"]  # the same run continues
    outcomes = {s["name"]: s for s in doc["steps"]}
    assert outcomes["apply"]["outcome"] == "ok"
    for name in ("preflight", "init"):
        assert "done earlier" in outcomes[name]["detail"]
    assert "not redone" in second.stderr
    assert "done earlier" not in outcomes["plan"]["detail"]  # a failed apply leaves a stale plan: re-planned
    state = json.loads((project / "state" / "dev.tfstate").read_text())
    assert {r["name"] for r in state["resources"]} == {"app", "slow"}


def test_resume_with_nothing_to_resume_is_a_usage_error(project, run_cli):
    result = run_cli("deploy", "--env", "dev", "--resume", cwd=project)
    assert result.returncode == 2
    assert "no failed or interrupted deploy" in result.stderr


def test_unknown_step_names_the_steps(project, run_cli):
    result = run_cli("deploy", "--env", "dev", "--from", "deploy-everything", cwd=project)
    assert result.returncode == 2
    assert "preflight, init, plan, approval, apply, secrets, migrate, rollout, verify" in result.stderr


def test_missing_tfvars_is_a_configuration_error(project, run_cli):
    (project / "tf" / "envs" / "dev.tfvars").unlink()
    result = run_cli("deploy", "--env", "dev", "--yes", cwd=project)
    assert result.returncode in (1, 2)
    assert "dev.tfvars" in result.stderr
    assert "Traceback" not in result.stderr


def test_audit_log_records_the_run_and_its_steps(project, run_cli):
    run_cli("deploy", "--env", "dev", "--dry-run", "--", cwd=project)
    run_cli("deploy", "--env", "dev", "--dry-run", cwd=project)
    records = [json.loads(line) for line in (project / ".billingops" / "audit.jsonl").read_text().splitlines()]
    events = [r["event"] for r in records]
    assert "deploy.start" in events and "deploy.end" in events and "step.end" in events
    start = next(r for r in records if r["event"] == "deploy.start")
    assert "@" in start["who"] and start["env"] == "dev" and start["argv"]
    history = run_cli("history", "--env", "dev", "--json", cwd=project)
    runs = json.loads(history.stdout)["runs"]
    assert runs and runs[0]["command"] == "deploy"
    assert run_cli("history", "--verify", cwd=project).returncode == 0


def test_sigint_is_forwarded_once_to_terraform_and_the_step_is_interrupted(tmp_path, tf_env):
    project = make_project(tmp_path / "p", tfvars='environment = "dev"\nsleep_seconds = 60\n')
    proc = subprocess.Popen([sys.executable, "-m", "billingops", "deploy", "--env", "dev", "--yes"], cwd=project,
                            env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tf_pid = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and tf_pid is None:
        for run in journals(project) if (project / ".billingops" / "runs").exists() else []:
            info = run.get("terraform") or {}
            if info.get("operation") == "apply":
                tf_pid = info["pid"]
        time.sleep(0.2)
    assert tf_pid, "terraform apply never started"
    time.sleep(2)  # let terraform take the state lock and start the provisioner
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    run = journals(project)[-1]
    assert step_outcomes(run)["apply"] == "interrupted"
    assert run["status"] == "interrupted"
    assert not (project / "state" / ".dev.tfstate.lock.info").exists()  # terraform released its lock
    try:
        os.kill(tf_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


def test_a_second_deploy_is_refused_while_the_first_holds_the_deploy_lock(tmp_path, tf_env, run_cli):
    project = make_project(tmp_path / "p", tfvars='environment = "dev"\nsleep_seconds = 30\n')
    first = subprocess.Popen([sys.executable, "-m", "billingops", "deploy", "--env", "dev", "--yes"], cwd=project,
                             env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = journals(project) if (project / ".billingops" / "runs").exists() else []
            if runs and (runs[-1].get("terraform") or {}).get("operation") == "apply":
                break
            time.sleep(0.2)
        second = run_cli("deploy", "--env", "dev", "--yes", cwd=project)
        assert second.returncode == 4, second.stderr
        assert "deploy lock" in second.stderr and "held by" in second.stderr
        assert "--lock-wait" in second.stderr
        locks = run_cli("locks", "--env", "dev", "--json", cwd=project)
        assert "deploy" in locks.stdout
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
    assert len(journals(project)) == 1  # the refused run started nothing
