"""Configuration: precedence (flags > env vars > file > defaults) and one-paragraph errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from billingops.config import ENV_PROFILES, load_settings
from billingops.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "billingops.toml"
    path.write_text(text)
    return path


def test_defaults_follow_the_seed(tmp_path):
    settings = load_settings(cwd=tmp_path)
    prod = settings.env("prod")
    assert (prod.multi_az, prod.backup_retention_days, prod.deletion_protection, prod.min_capacity,
            prod.max_capacity) == (True, 30, True, 2, 10)
    staging = settings.env("staging")
    assert (staging.multi_az, staging.backup_retention_days, staging.min_capacity, staging.max_capacity) == (
        False, 7, 1, 5)
    dev = settings.env("dev")
    assert dev.backup_retention_days == 1 and dev.max_capacity == 3 and dev.min_capacity in (0, 1)
    assert prod.cloud == "aws" and prod.health_path == "/health"
    assert {s.name for s in prod.secrets} >= {"DATABASE_URL", "REDIS_URL"}


def test_file_then_env_var_then_flag(tmp_path, monkeypatch):
    write(tmp_path, '[environments.staging]\ncloud = "gcp"\n[environments.staging.gcp]\nregion = "europe-west1"\n'
                    'project = "billing-staging"\n')
    settings = load_settings(cwd=tmp_path)
    assert settings.env("staging").cloud == "gcp"
    assert settings.env("staging").region == "europe-west1"
    monkeypatch.setenv("BILLINGOPS_CLOUD", "aws")
    assert settings.env("staging").cloud == "aws"
    assert settings.env("staging", cloud="gcp").cloud == "gcp"  # the flag wins
    monkeypatch.setenv("BILLINGOPS_REGION", "us-west1")
    assert settings.env("staging", cloud="gcp").region == "us-west1"


def test_config_found_by_walking_up_and_paths_resolve_against_it(tmp_path):
    write(tmp_path, '[environments.dev]\nterraform_dir = "infra/aws"\nmigrations_dir = "db"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    settings = load_settings(cwd=sub)
    assert settings.config_path == tmp_path / "billingops.toml"
    assert settings.env("dev").terraform_dir == tmp_path / "infra" / "aws"
    assert settings.state_dir == tmp_path / ".billingops"


def test_explicit_missing_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(("text", "expected"), [
    ("[environments.dev]\ncloud = \"azure\"\n",
     "environments.dev.cloud = 'azure' is not a known value; accepted values are aws, gcp"),
    ("[environments.qa]\n", "unknown environment [environments.qa]; accepted values are prod, staging, dev"),
    ("[environments.dev]\nmin_capacity = \"two\"\n", "environments.dev.min_capacity = 'two' has the wrong type"),
    ("[environments.dev]\nmulti_az = 1\n", "environments.dev.multi_az = 1 has the wrong type"),
    ("[environments.dev]\nbackup_retention_days = true\n", "backup_retention_days = True has the wrong type"),
    ("[environments.dev]\ncolour = \"blue\"\n", "unknown key environments.dev.colour"),
    ("[environments.dev]\nmin_capacity = 5\nmax_capacity = 2\n", "min_capacity (5) is greater than"),
    ("[environments.dev.gcp.endpoints]\nrun = \"localhost:80\"\n", "is not a URL"),
    ("[environments.dev.gcp.endpoints]\ncompute = \"http://127.0.0.1:1\"\n", "is not a known API name"),
    ("[[environments.dev.secrets]]\nname = \"X\"\nsource = \"vault\"\n", "source = 'vault' is not a known value"),
    ("[project]\ndefault_env = \"live\"\n", "default_env = 'live' is not an environment"),
    ("[environments.dev\n", "is not valid TOML"),
])
def test_bad_values_name_file_key_and_accepted_values(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(cwd=tmp_path)
    assert expected in info.value.message
    assert str(path) in info.value.message or "TOML" in info.value.message


def test_bad_config_through_the_cli_is_exit_2_without_traceback(run_cli, tmp_path):
    write(tmp_path, "[environments.dev]\ncloud = \"azure\"\n")
    result = run_cli("doctor", "--env", "dev", cwd=tmp_path)
    assert result.returncode == 2
    assert "accepted values are aws, gcp" in result.stderr
    assert "Traceback" not in result.stderr
    assert len([ln for ln in result.stderr.splitlines() if ln.strip()]) <= 2


def test_profile_keys_overridable(tmp_path):
    write(tmp_path, "[environments.dev]\nmin_capacity = 0\n")
    assert load_settings(cwd=tmp_path).env("dev").min_capacity == 0
    assert ENV_PROFILES["dev"]["max_capacity"] == 3


def test_no_module_but_config_reads_billingops_variables():
    """One place reads the BILLINGOPS_* knobs (config.tunables); others ask it. Typer's envvar= is the CLI edge."""
    import re

    src = Path(__file__).resolve().parents[2] / "src" / "billingops"
    reads = re.compile(r"(environ(\.get)?[\[(]|getenv\()\s*[\"']BILLINGOPS_")
    offenders = [str(p.relative_to(src)) for p in src.rglob("*.py")
                 if p.parent.name != "config" and reads.search(p.read_text())]
    assert offenders == []


@pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("1h30m", 5400.0),
                                                ("2d", 172800.0), ("500ms", 0.5), (" 5M ", 300.0)])
def test_one_duration_syntax(text, seconds):
    from billingops.config import parse_duration

    assert parse_duration(text, "--timeout") == seconds


@pytest.mark.parametrize("text", ["", "5x", "m", "-1s", "1.5.2m", "10 m"])
def test_a_malformed_duration_names_the_flag_and_the_forms(text):
    from billingops.config import parse_duration
    from billingops.errors import UsageError

    with pytest.raises(UsageError) as caught:
        parse_duration(text, "--lock-wait")
    assert "--lock-wait" in str(caught.value) and "10m" in caught.value.hint


def test_a_malformed_knob_is_a_config_error_naming_the_variable(monkeypatch):
    from billingops.config import tunables
    from billingops.errors import ConfigError

    monkeypatch.setenv("BILLINGOPS_ROLLOUT_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="BILLINGOPS_ROLLOUT_TIMEOUT='soon'"):
        _ = tunables().rollout_timeout
    monkeypatch.setenv("BILLINGOPS_ROLLOUT_TIMEOUT", "15m")
    assert tunables().rollout_timeout == 900.0
    monkeypatch.setenv("BILLINGOPS_PG_PROBE_TIMEOUT", "1")
    with pytest.raises(ConfigError, match="at least 2"):
        _ = tunables().pg_probe_timeout
