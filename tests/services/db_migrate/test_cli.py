"""`billingops db migrate|status` as a user runs them, against a real PostgreSQL (and moto for the secret)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psycopg

from billingops.services.db_migrate.runner import LEDGER, LOCK_KEY
from tests.services.db_migrate.conftest import write


def _project(tmp_path, migrations: dict[str, str]):
    folder = tmp_path / "migrations"
    for name, sql in migrations.items():
        write(folder, name, sql)
    (tmp_path / "tf").mkdir(exist_ok=True)  # no remote backend: the deploy lock is a local file there
    (tmp_path / "billingops.toml").write_text(
        '[environments.dev]\ncloud = "aws"\nmigrations_dir = "migrations"\nterraform_dir = "tf"\n'
    )
    return tmp_path


def test_dry_run_migrate_status(run_cli, tmp_path, db_url):
    project = _project(
        tmp_path, {"0001_a.sql": "CREATE TABLE a (id int);", "0002_b.sql": "CREATE TABLE b (id int);"}
    )
    env = {"BILLINGOPS_DATABASE_URL": db_url}
    dry = run_cli("db", "migrate", "--env", "dev", "--dry-run", "--json", env=env, cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["pending"] == ["0001_a.sql", "0002_b.sql"]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass(%s)", (LEDGER,)).fetchone()[0] is None

    applied = run_cli("db", "migrate", "--env", "dev", "--json", env=env, cwd=project)
    assert applied.returncode == 0, applied.stderr
    assert [s["name"] for s in json.loads(applied.stdout)["applied"]] == ["0001_a.sql", "0002_b.sql"]
    assert "pg-test-pw" not in applied.stdout + applied.stderr

    write(project / "migrations", "0003_c.sql", "CREATE TABLE c (id int);")
    status = run_cli("db", "status", "--env", "dev", "--json", env=env, cwd=project)
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert (doc["applied"], doc["pending"]) == (2, 1)
    assert [m["state"] for m in doc["migrations"]] == ["applied", "applied", "pending"]

    (project / "migrations" / "0001_a.sql").write_text("CREATE TABLE a (id bigint);")
    edited = run_cli("db", "status", "--env", "dev", "--json", env=env, cwd=project)
    assert edited.returncode == 1
    doc = json.loads(edited.stdout)  # exactly one JSON document
    assert doc["error"]["migrations"][0]["state"] == "checksum mismatch"
    refused = run_cli("db", "migrate", "--env", "dev", env=env, cwd=project)
    assert refused.returncode == 4 and "0001_a.sql were edited" in refused.stderr


def test_two_concurrent_runners_never_interleave(tmp_path, db_url):
    project = _project(
        tmp_path,
        {
            "0001_slow.sql": "CREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n",
            "0002_next.sql": "CREATE TABLE next_one (id int);\nSELECT pg_sleep(0.5);\n",
        },
    )
    env = {**__import__("os").environ, "BILLINGOPS_DATABASE_URL": db_url}
    # --no-lock: the deploy lock would turn the second runner away at once; this test is about the
    # database's own advisory lock, which also guards runners that do not share a deploy lock.
    argv = [sys.executable, "-m", "billingops", "db", "migrate", "--env", "dev", "--json", "--no-lock"]
    procs = [
        subprocess.Popen(
            argv, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    applied = [[s["name"] for s in json.loads(out)["applied"]] for out, _ in results]
    assert sorted(applied) == [[], ["0001_slow.sql", "0002_next.sql"]]
    loser = results[applied.index([])][1]
    assert "waiting for the migration lock held by pid" in loser
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(f"SELECT version, applied_at FROM {LEDGER} ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [1, 2]


def test_lock_wait_timeout_is_refused_naming_the_holder(run_cli, tmp_path, db_url):
    project = _project(tmp_path, {"0001_a.sql": "CREATE TABLE a (id int);"})
    with psycopg.connect(db_url, autocommit=True, application_name="other-runner") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        pid = holder.info.backend_pid
        began = time.monotonic()
        result = run_cli(
            "db",
            "migrate",
            "--env",
            "dev",
            "--lock-wait",
            "1",
            env={"BILLINGOPS_DATABASE_URL": db_url},
            cwd=project,
        )
        assert time.monotonic() - began < 20
    assert result.returncode == 4, result.stderr
    assert f"pid {pid}, other-runner" in result.stderr and "--lock-wait" in result.stderr


def test_failed_file_exit_code_and_message(run_cli, tmp_path, db_url):
    project = _project(
        tmp_path,
        {
            "0001_a.sql": "CREATE TABLE a (id int);",
            "0002_bad.sql": "CREATE TABLE b (id int);\nSELECT * FROM nope;\n",
        },
    )
    result = run_cli("db", "migrate", "--env", "dev", env={"BILLINGOPS_DATABASE_URL": db_url}, cwd=project)
    assert result.returncode == 1
    assert "0002_bad.sql failed at line 2" in result.stderr and "Traceback" not in result.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('b')").fetchone()[0] is None
        assert conn.execute(f"SELECT array_agg(version) FROM {LEDGER}").fetchone()[0] == [1]


def test_database_url_from_the_secret_store(run_cli, tmp_path, db_url, moto):
    from billingops.clouds.base import aws_client

    arn = aws_client("secretsmanager", "us-east-1").create_secret(
        Name="billing-dev/DATABASE_URL", SecretString=db_url
    )["ARN"]
    project = _project(tmp_path, {"0001_a.sql": "CREATE TABLE a (id int);"})
    result = run_cli(
        "db", "migrate", "--env", "dev", "--secret-id", f"DATABASE_URL={arn}", "-vv", cwd=project
    )
    assert result.returncode == 0, result.stderr
    assert "0001_a.sql" in result.stdout and "pg-test-pw" not in result.stdout + result.stderr
    empty = aws_client("secretsmanager", "us-east-1").create_secret(Name="billing-dev/EMPTY")["ARN"]
    missing = run_cli("db", "status", "--env", "dev", "--secret-id", f"DATABASE_URL={empty}", cwd=project)
    assert missing.returncode == 2 and "has no version yet" in missing.stderr


def test_deploy_lock_held_elsewhere_is_refused(run_cli, tmp_path, db_url):
    from billingops.config import load_settings
    from billingops.locks import deploy_lock

    project = _project(tmp_path, {"0001_a.sql": "CREATE TABLE a (id int);"})
    env = load_settings(cwd=project).env("dev")
    with deploy_lock.acquire(env, "other-run-1", "deploy"):
        held = run_cli("db", "migrate", "--env", "dev", env={"BILLINGOPS_DATABASE_URL": db_url}, cwd=project)
        seed = run_cli(
            "secrets",
            "seed",
            "--env",
            "dev",
            *[
                f"--secret-id={n}=x"
                for n in (
                    "DATABASE_URL",
                    "REDIS_URL",
                    "SECRET_KEY",
                    "STRIPE_API_KEY",
                    "STRIPE_WEBHOOK_SECRET",
                )
            ],
            cwd=project,
        )
        dry = run_cli(
            "db", "migrate", "--env", "dev", "--dry-run", env={"BILLINGOPS_DATABASE_URL": db_url}, cwd=project
        )
    assert held.returncode == 4, held.stderr
    assert "other-run-1" in held.stderr or "deploy" in held.stderr
    assert dry.returncode == 0, dry.stderr  # a dry run changes nothing and takes no lock
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('a')").fetchone()[0] is None
    after = run_cli("db", "migrate", "--env", "dev", env={"BILLINGOPS_DATABASE_URL": db_url}, cwd=project)
    assert after.returncode == 0, after.stderr
    assert seed.returncode == 4, seed.stderr  # refused before any secret store is called


SECRET_NAMES = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET")


def test_lock_wait_waits_for_a_held_deploy_lock_then_runs(run_cli, tmp_path, db_url):
    """Every command that takes the deploy lock spells --lock-wait the same way: it waits for the holder,
    times out naming it, and proceeds once it is released."""
    import threading

    from billingops.config import load_settings
    from billingops.locks import deploy_lock

    project = _project(tmp_path, {"0001_a.sql": "CREATE TABLE a (id int);"})
    env = load_settings(cwd=project).env("dev")
    released = threading.Event()

    def hold_for(seconds: float) -> None:
        with deploy_lock.acquire(env, "other-run-2", "deploy"):
            time.sleep(seconds)
        released.set()

    with deploy_lock.acquire(env, "other-run-1", "deploy"):
        began = time.monotonic()
        timed_out = {
            name: run_cli(*argv, "--env", "dev", "--lock-wait", "2s", cwd=project,
                          env={"BILLINGOPS_DATABASE_URL": db_url})
            for name, argv in {
                "db migrate": ("db", "migrate"),
                "secrets seed": ("secrets", "seed", *[f"--secret-id={n}=x" for n in SECRET_NAMES]),
            }.items()
        }
        assert time.monotonic() - began >= 4, {n: r.stderr for n, r in timed_out.items()}  # 2 s each
    for name, result in timed_out.items():
        assert result.returncode == 4, (name, result.stderr)
        assert "other-run-1" in result.stderr and "after waiting 2s" in result.stderr, (name, result.stderr)
    bad = run_cli("db", "migrate", "--env", "dev", "--lock-wait", "soon", cwd=project)
    assert bad.returncode == 2 and "'--lock-wait': 'soon' is not a duration" in bad.stderr, bad.stderr

    holder = threading.Thread(target=hold_for, args=(3.0,))
    holder.start()
    time.sleep(0.5)
    waited = run_cli("db", "migrate", "--env", "dev", "--lock-wait", "1m", "--json", cwd=project,
                     env={"BILLINGOPS_DATABASE_URL": db_url})
    holder.join()
    assert released.is_set() and waited.returncode == 0, waited.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('a')").fetchone()[0] == "a"
