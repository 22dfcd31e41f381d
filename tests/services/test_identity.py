"""doctor says who the cloud thinks you are, and fails (not warns) when the cloud cannot be asked."""

from __future__ import annotations

from billingops.config import load_settings
from billingops.services.deploy.preflight import FAIL, OK, check_credentials


def _env(tmp_path, cloud="aws"):
    (tmp_path / "billingops.toml").write_text(f'[environments.dev]\ncloud = "{cloud}"\n')
    return load_settings(tmp_path / "billingops.toml").env("dev")


def test_the_aws_caller_identity_is_shown(moto, tmp_path):
    check = check_credentials(_env(tmp_path))
    assert check.status == OK, check
    assert "arn:aws:" in check.detail and "account 123456789012" in check.detail
    assert "not shown" in check.detail


def test_an_unreachable_cloud_fails_the_check(tmp_path):
    # the autouse fixture points AWS at a dead loopback port: STS cannot be asked
    check = check_credentials(_env(tmp_path))
    assert check.status == FAIL, check
    assert "GetCallerIdentity" in check.detail


def test_doctor_says_whether_terraform_is_initialised_on_this_machine(tmp_path):
    from billingops.services.deploy.preflight import WARN, check_initialised

    env = _env(tmp_path)
    assert check_initialised(env).status == WARN and "not initialised" in check_initialised(env).detail
    data_dir = env.state_dir / "terraform" / f"{env.cloud}-{env.name}"
    data_dir.mkdir(parents=True)
    (data_dir / "terraform.tfstate").write_text("{}")
    assert check_initialised(env).status == OK
