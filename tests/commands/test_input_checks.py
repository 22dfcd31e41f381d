"""Every input is checked while the arguments are parsed: a bad value is exit 2 naming the accepted forms,
before any terraform or cloud call (no terraform on PATH here, and no state folder gets created)."""

from __future__ import annotations

import json

import pytest

BAD = [
    (("rollout", "--image", ""), "--image", "REPOSITORY:TAG"),
    (("rollout", "--image", "bad image!"), "--image", "REPOSITORY:TAG"),
    (("deploy", "--lock-wait", "5x"), "--lock-wait", "10m"),
    (("deploy", "--lock-timeout", "5x"), "--lock-timeout", "10m"),
    (("deploy", "--image", "bad image!"), "--image", "REPOSITORY:TAG"),
    (("plan", "--lock-timeout", "5x"), "--lock-timeout", "10m"),
    (("unlock", "--lock-id", ""), "--lock-id", "is empty"),
    (("unlock", "--older-than", "soon"), "--older-than", "10m"),
    (("rollout", "--image", "v1", "--timeout", "10x"), "--timeout", "10m"),
    (("rollout", "--image", "v1", "--health-timeout", "x"), "--health-timeout", "10m"),
    (("rollout", "--image", "v1", "--poll-interval", "x"), "--poll-interval", "10m"),
    (("rollback", "--timeout", "0.5"), "--timeout", "shorter than 1s"),
    (("rollout", "--image", "v1", "--lock-wait", "5x"), "--lock-wait", "10m"),
    (("secrets", "seed", "--lock-wait", "5x"), "--lock-wait", "10m"),
    (("db", "migrate", "--lock-wait", "5x"), "--lock-wait", "10m"),
    (("db", "migrate", "--task-timeout", "5x"), "--task-timeout", "10m"),
    (("db", "restore", "--as", "copy", "--timeout", "1x"), "--timeout", "10m"),
    (("dr", "drill", "--timeout", "1x"), "--timeout", "10m"),
    (("status", "--watch", "--interval", "5x"), "--interval", "10m"),
    (("migrate-cloud", "--lock-wait", "5x"), "--lock-wait", "10m"),
]


@pytest.mark.parametrize(("args", "flag", "forms"), BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_a_bad_value_is_exit_2_with_the_accepted_forms_before_terraform_or_a_cloud(run_cli, tmp_path, args, flag,
                                                                                    forms):
    result = run_cli(*args, "--env", "dev", env={"PATH": str(tmp_path / "no-tools")})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert flag in result.stderr and forms in result.stderr, result.stderr
    assert "terraform" not in result.stderr.lower()
    assert not (tmp_path / ".billingops").exists()


def test_a_bad_value_with_json_is_one_usage_error_document(run_cli, tmp_path):
    result = run_cli("rollout", "--env", "dev", "--json", "--image", "bad image!",
                     env={"PATH": str(tmp_path / "no-tools")})
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["error"]["type"] == "UsageError" and "--image" in document["error"]["message"]


def test_every_duration_option_takes_the_one_syntax():
    from billingops.commands.common import duration_option

    seconds = duration_option("--timeout", help="", minimum=1).parser
    assert seconds("10m") == 600 and seconds("90s") == 90 and seconds("1h") == 3600 and seconds("45") == 45
    assert duration_option("--lock-timeout", help="", go=True).parser("1h30m") == "5400s"
    assert duration_option("--lock-timeout", help="", go=True).parser("500ms") == "500ms"
    assert duration_option("--lock-wait", help="", as_text=True).parser("5m") == "5m"


def test_timeout_10m_is_accepted_where_a_duration_is_taken(run_cli, tmp_path):
    # Accepted by the parser: the run goes on to need terraform (missing here), not a usage error.
    result = run_cli("rollout", "--env", "dev", "--image", "v1.2.3", "--timeout", "10m", "--health-timeout", "2m",
                     env={"PATH": str(tmp_path / "no-tools")})
    assert result.returncode != 2, result.stderr
    assert "terraform" in result.stderr
