"""migrate-cloud connection URLs stay out of argv: from an environment variable or a file, and a password
typed on the command line is warned about."""

from __future__ import annotations

from billingops.services.migrate_cloud import MigrateRequest, connection_urls

PG = "postgresql://app:s3cret-pw@127.0.0.1:5432/billing?sslmode=require"


def test_urls_from_environment_and_files(tmp_path, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_SOURCE_POSTGRES_URL", PG)
    url_file = tmp_path / "target.url"
    url_file.write_text("redis://:auth-pw@127.0.0.1:6379/0\n")
    url_file.chmod(0o600)
    warnings: list[str] = []
    request = MigrateRequest("aws", "gcp", target_redis=f"@{url_file}")
    urls = connection_urls(request, ["billingops", "migrate-cloud", "--target-redis", f"@{url_file}"],
                           warnings.append)
    assert urls["source_postgres"] == PG
    assert urls["target_redis"] == "redis://:auth-pw@127.0.0.1:6379/0"
    assert urls["target_postgres"] is None and urls["source_redis"] is None
    assert warnings == []


def test_a_password_on_the_command_line_is_warned_about(run_cli, tmp_path):
    result = run_cli("migrate-cloud", "aws", "gcp", "--env", "dev", "--only", "postgres", "--dry-run",
                     "--source-postgres", PG, "--target-postgres", "postgresql://app@127.0.0.1:9/x", cwd=tmp_path)
    assert "--source-postgres carries a password on the command line" in result.stderr
    assert "BILLINGOPS_SOURCE_POSTGRES_URL" in result.stderr
    assert "--target-postgres carries" not in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_an_unreadable_url_file_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("migrate-cloud", "aws", "gcp", "--env", "dev", "--only", "postgres", "--dry-run",
                     "--source-postgres", f"@{tmp_path / 'missing'}", cwd=tmp_path)
    assert result.returncode == 2 and "cannot be read" in result.stderr and "Traceback" not in result.stderr
