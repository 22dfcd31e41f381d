"""--only/--from steps, --verify modes and runbook names are choices: listed in help, checked (exit 2 listing
them) and completed by the shell."""

from __future__ import annotations

import pytest


def test_the_deploy_commands_step_names_are_the_checklists():
    from billingops.commands.deploy import STEP_NAMES
    from billingops.services.deploy.steps import STEP_NAMES as CHECKLIST

    assert STEP_NAMES == CHECKLIST


CASES = [
    (("deploy", "--env", "dev", "--only", "nope"), ("deploy", "--help"), "preflight, init, plan, approval, apply"),
    (("deploy", "--env", "dev", "--from", "nope"), ("deploy", "--help"), "migrate, rollout, verify"),
    (("migrate-cloud", "--env", "dev", "--verify", "nope"), ("migrate-cloud", "--help"), "counts, full"),
    (("runbook", "run", "nope", "--env", "dev"), ("runbook", "run", "--help"), "state-lock"),
    (("runbook", "show", "nope"), ("runbook", "show", "--help"), "state-lock"),
]


@pytest.mark.parametrize(("bad", "help_args", "listed"), CASES, ids=[" ".join(c[0][:2]) + " " + c[0][-1]
                                                                    for c in CASES])
def test_a_choice_is_listed_in_help_and_a_bad_one_is_exit_2_listing_them(run_cli, tmp_path, bad, help_args,
                                                                         listed):
    result = run_cli(*bad, env={"PATH": str(tmp_path / "no-tools"), "COLUMNS": "400"})
    assert result.returncode == 2, result.stderr
    assert "'nope'" in result.stderr and listed in result.stderr
    assert not (tmp_path / ".billingops").exists()
    shown = run_cli(*help_args, env={"COLUMNS": "400"})
    assert listed in " ".join(shown.stdout.split())


@pytest.mark.parametrize(("words", "expected"), [
    ("billingops deploy --only pl", ["plan"]),
    ("billingops deploy --from r", ["rollout"]),
    ("billingops migrate-cloud --verify ", ["counts", "full"]),
    ("billingops runbook run state-", ["state-lock"]),
    ("billingops runbook show data", ["database-down", "database-restore"]),
])
def test_choices_are_completed_by_the_shell(run_cli, words, expected):
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    result = run_cli(env={"_BILLINGOPS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword})
    assert result.stdout.split() == expected, result.stderr
