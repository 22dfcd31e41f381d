"""What billingops writes is the operator's alone, and its children inherit no secret they do not need."""

from __future__ import annotations

import os
import stat

from billingops import process


def test_everything_a_run_writes_is_private(run_cli, tmp_path):
    (tmp_path / "billingops.toml").write_text('[project]\nstate_dir = "state"\n')
    os.chmod(tmp_path / "billingops.toml", 0o644)
    run_cli("deploy", "--env", "dev", "--dry-run", env={"AWS_ACCESS_KEY_ID": "", "AWS_PROFILE": "nope"},
            timeout=300)
    written = list((tmp_path / "state").rglob("*"))
    assert any(p.name == "audit.jsonl" for p in written) and any(p.parent.name == "runs" for p in written)
    loose = [(str(p), oct(p.stat().st_mode & 0o777)) for p in [tmp_path / "state", *written]
             if p.stat().st_mode & 0o077]
    assert loose == []


def test_children_never_inherit_secret_values_or_terraform_debug_logs(monkeypatch):
    monkeypatch.setenv("BILLINGOPS_SECRET_STRIPE_API_KEY", "sk_live_x")
    monkeypatch.setenv("PGPASSWORD", "pw")
    monkeypatch.setenv("TF_LOG", "TRACE")
    monkeypatch.setenv("TF_LOG_PATH", "/tmp/tf.log")
    env = process.clean_env({"EXTRA": "1"})
    assert env["EXTRA"] == "1"
    assert not {"BILLINGOPS_SECRET_STRIPE_API_KEY", "PGPASSWORD", "TF_LOG", "TF_LOG_PATH"} & set(env)


def test_a_config_file_others_can_write_is_refused(run_cli, tmp_path):
    config = tmp_path / "billingops.toml"
    config.write_text("[project]\n")
    os.chmod(config, 0o666)
    result = run_cli("history", "--env", "dev")
    assert result.returncode == 2 and "can be changed by other users" in result.stderr
    assert "chmod go-w" in result.stderr
    os.chmod(config, stat.S_IRUSR | stat.S_IWUSR)
    assert run_cli("history", "--env", "dev").returncode == 0


def test_config_discovery_stops_at_the_repository_root(run_cli, tmp_path):
    (tmp_path / "billingops.toml").write_text('[project]\ndefault_env = "nope"\n')  # would be a config error
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    result = run_cli("history", "--env", "dev", cwd=repo / "sub")
    assert result.returncode == 0, result.stderr


def test_the_json_error_document_is_redacted_before_encoding(capsys):
    import json

    from billingops import redact
    from billingops.cli import _report
    from billingops.errors import ConfigError

    secret = 'p"\u00e4\u00a7w0rd-s3cr3t'
    redact.register(secret)
    _report(ConfigError(f"the value {secret} is wrong", hint=f"not {secret}"), json_mode=True)
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc["error"]["message"] == "the value *** is wrong"
    assert secret not in out and json.dumps(secret)[1:-1] not in out


def test_aws_credentials_never_go_to_a_plain_http_host_off_loopback(monkeypatch):
    import pytest

    from billingops.clouds.base import aws_client
    from billingops.errors import ConfigError

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://10.1.2.3:9000")
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL_S3=http://10.1.2.3:9000"):
        aws_client("s3", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")
    assert aws_client("s3", "us-east-1").meta.endpoint_url == "http://127.0.0.1:9000"
