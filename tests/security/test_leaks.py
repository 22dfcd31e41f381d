"""Nothing leaks: every command, successful and failing, plain / --json / -vv, with canary secrets planted in
the environment, a dotenv file, URLs and moto's secret values; stdout, stderr and every file billingops wrote
(state dir, journals, audit log, crash logs, terraform data dirs, TMPDIR, HOME) are scanned for each canary."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import typer

from tests.security.conftest import CANARIES, LeakWorld, scan

pytestmark = pytest.mark.slow

Argv = list[str]
# leaf command -> builders of realistic argv (world -> argv after the command path). The first ones succeed
# where a server can serve them; the others fail on purpose (unknown resources, unreachable endpoints, bad
# passwords) because error paths are where secrets usually escape.
ENV = ["--env", "dev"]
DEAD_PG = "postgresql://app:" + CANARIES["bad_url_password"] + "@127.0.0.1:9/billing"
ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing:v1.2.3"
GCP = [*ENV, "--cloud", "gcp"]
DEAD_REDIS = "redis://:" + CANARIES["bad_url_password"] + "@127.0.0.1:9/0"


def _ids(w: LeakWorld, *names: str) -> Argv:
    flags: Argv = []
    for name in names or tuple(w.secret_ids):
        flags += ["--secret-id", f"{name}={w.secret_ids[name]}"]
    return flags


def _gcp_ids(w: LeakWorld) -> Argv:
    flags: Argv = []
    for name, value in w.gcp_ids.items():
        flags += ["--secret-id", f"{name}={value}"]
    return flags


def _migrate_both(w: LeakWorld) -> Argv:
    return [
        "aws",
        "gcp",
        *ENV,
        "--no-lock",
        "--jobs",
        "1",
        "--source-postgres",
        w.pg_url("postgres"),
        "--target-postgres",
        w.fresh_db("target_pg_password").replace("app:", "tgt:"),
        "--source-redis",
        w.redis.url(0),
        "--target-redis",
        w.fresh_redis_db(),
    ]


def _wrong_password_target(w: LeakWorld) -> Argv:
    good = w.fresh_db()
    return [
        "aws",
        "gcp",
        *ENV,
        "--no-lock",
        "--only",
        "postgres",
        "--source-postgres",
        w.pg_url("postgres"),
        "--target-postgres",
        good.replace(CANARIES["pg_password"], CANARIES["bad_url_password"]),
    ]


TABLE: dict[str, list[Callable[[LeakWorld], Argv]]] = {
    "deploy": [lambda w: [*ENV, "--image", "v1.2.3", "--dry-run"], lambda w: [*ENV, "--resume"]],
    "plan": [lambda w: ENV],
    "doctor": [lambda w: [*ENV, "--image", "v1.2.3"]],
    "rollout": [
        lambda w: [
            *ENV,
            "--image",
            ECR_IMAGE,
            "--cluster",
            "nope",
            "--service",
            "nope",
            "--container",
            "app",
            "--url",
            "http://127.0.0.1:9",
            "--timeout",
            "5",
            "--health-timeout",
            "2",
            "--no-lock",
        ]
    ],
    "rollback": [
        lambda w: [
            *ENV,
            "--cluster",
            "nope",
            "--service",
            "nope",
            "--url",
            "http://127.0.0.1:9",
            "--timeout",
            "5",
            "--health-timeout",
            "2",
            "--no-lock",
        ]
    ],
    "locks": [lambda w: ENV, lambda w: ["--all"]],
    "unlock": [lambda w: [*ENV, "--deploy-lock"], lambda w: [*ENV, "--lock-id", "nope"]],
    "migrate-cloud": [
        _migrate_both,
        _wrong_password_target,
        lambda w: [
            "aws",
            "gcp",
            *ENV,
            "--no-lock",
            "--source-postgres",
            DEAD_PG,
            "--target-postgres",
            DEAD_PG,
            "--source-redis",
            DEAD_REDIS,
            "--target-redis",
            DEAD_REDIS,
        ],
    ],
    "status": [
        lambda w: [*ENV, "--cluster", "nope", "--service", "nope", "--db-instance", "nope", "--cache-id", "nope"]
    ],
    "history": [lambda w: ENV, lambda w: [*ENV, "--verify"]],
    "drift": [lambda w: ENV],
    "cost": [lambda w: ENV],
    "sandbox status": [lambda w: []],
    "sandbox up": [lambda w: []],
    "sandbox down": [lambda w: []],
    "secrets seed": [
        lambda w: [*ENV, "--file", "secrets.env", *_ids(w)],
        lambda w: [*ENV, "--rotate", "SECRET_KEY", "--dry-run", *_ids(w)],
        lambda w: [*ENV, "--file", "missing.env", *_ids(w)],
        lambda w: [*GCP, "--file", "secrets.env", *_gcp_ids(w)],
    ],
    "secrets list": [lambda w: [*ENV, *_ids(w)]],
    "secrets check": [
        lambda w: [*ENV, *_ids(w)],
        lambda w: [*GCP, *_gcp_ids(w)],
        lambda w: [*ENV, "--secret-id", "SECRET_KEY=nope"],
    ],
    "runbook list": [lambda w: []],
    "runbook show": [lambda w: ["database-down"], lambda w: ["no-such-runbook"]],
    "runbook run": [
        lambda w: [
            "database-restore",
            *ENV,
            "--dry-run",
            "--var",
            "NAME=scratch",
            "--var",
            "TIME=2026-01-01T00:00:00Z",
            "--var",
            f"PASSWORD={CANARIES['pg_password']}",
        ],
        lambda w: ["database-restore", *ENV, "--dry-run", "--var", f"PASSWORD={CANARIES['pg_password']}"],
    ],
    "dr drill": [lambda w: [*ENV, "--db-instance", "nope", "--check-database-url", DEAD_PG, "--timeout", "5"]],
    "db migrate": [
        lambda w: [*ENV, "--database-url", w.fresh_db(), "--no-lock"],
        lambda w: [*ENV, "--database-url", DEAD_PG, "--no-lock"],
    ],
    "db status": [
        lambda w: [*ENV, "--database-url", w.pg_url("postgres")],
        lambda w: [*ENV, *_ids(w, "DATABASE_URL")],
        lambda w: [*GCP, "--secret-id", f"DATABASE_URL={w.gcp_ids['DATABASE_URL']}"],
        lambda w: [*ENV, "--database-url", DEAD_PG],
    ],
    "db backups": [lambda w: [*ENV, "--db-instance", "nope"], lambda w: [*GCP, "--db-instance", "billing-dev-db"]],
    "db restore": [
        lambda w: [*ENV, "--db-instance", "nope", "--to", "2026-01-01T00:00:00Z", "--as", "scratch", "--timeout", "5"]
    ],
}
VARIANTS = ([], ["--json"], ["-vv"])


def leaf_commands() -> list[str]:
    from billingops.cli import app

    found = []

    def walk(command, path: list[str]) -> None:
        if hasattr(command, "list_commands"):  # a group (the root loads its commands lazily)
            ctx = typer.Context(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])
        else:
            found.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_has_leak_cases():
    missing = sorted(set(leaf_commands()) - set(TABLE))
    assert not missing, f"add these commands to the leak table: {missing}"
    stale = sorted(set(TABLE) - set(leaf_commands()))
    assert not stale, f"these commands no longer exist: {stale}"


@pytest.mark.timeout(700)  # ~200 s alone; three CI workers on two cores can double it
def test_no_canary_leaks_from_any_command(leak_world):
    outcomes = {}
    for command, builders in TABLE.items():
        for builder in builders:
            for variant in VARIANTS:
                argv = [*command.split(), *builder(leak_world), *variant]
                result = leak_world.run(argv)
                outcomes[" ".join(argv)] = result.returncode
                assert "Traceback" not in result.stderr or "-vv" in argv, (argv, result.stderr[-2000:])
                if "--json" in variant and result.stdout.strip() and command != "sandbox up":
                    json.loads(result.stdout)
    hits, files = scan(leak_world)
    ok = sum(1 for code in outcomes.values() if code == 0)
    print(
        f"\nleak suite: {len(CANARIES)} canaries, {len(outcomes)} runs ({ok} exit 0, {len(outcomes) - ok} "
        f"failing), {files} files scanned"
    )

    assert ok >= 10 and len(outcomes) - ok >= 10, outcomes
    assert not hits, "\n".join(hits)


@pytest.mark.timeout(200)
def test_crash_logs_and_verbose_tracebacks_are_redacted(leak_world):
    """A state folder whose runs/ is a file makes the journal write fail unexpectedly: the CLI edge writes a
    crash log with the traceback. The traceback and -vv output must not carry the URLs' passwords."""
    state = leak_world.project / ".billingops"
    state.mkdir(exist_ok=True)
    (state / "runs").write_text("not a folder\n", encoding="utf-8")
    cases = [
        [
            "migrate-cloud",
            "aws",
            "gcp",
            *ENV,
            "--no-lock",
            "--only",
            "postgres",
            "--source-postgres",
            leak_world.pg_url("postgres"),
            "--target-postgres",
            DEAD_PG,
        ],
        [
            "migrate-cloud",
            "aws",
            "gcp",
            *ENV,
            "--no-lock",
            "--only",
            "redis",
            "--source-redis",
            leak_world.redis.url(0),
            "--target-redis",
            DEAD_REDIS,
        ],
        ["deploy", *ENV, "--dry-run", "--image", "v1.2.3"],
    ]
    for argv in cases:
        for variant in ([], ["-vv"], ["--json"]):
            result = leak_world.run([*argv, *variant])
            assert result.returncode != 0, result.stderr
    crash_logs = list((state / "logs").glob("crash-*.log"))
    # every run either failed cleanly or left a (redacted) crash log; at least one went the crash route
    assert crash_logs, [r.stderr for _, r in leak_world.runs]
    assert any("Traceback" in path.read_text(encoding="utf-8") for path in crash_logs)
    hits, files = scan(leak_world)
    print(f"\ncrash case: {len(leak_world.runs)} runs, {len(crash_logs)} crash logs, {files} files scanned")
    assert not hits, "\n".join(hits)


def test_the_scanner_finds_planted_canaries(leak_world):
    """The scan itself can fail: plant each encoded form in a file and in an output and see them found."""
    import base64
    import subprocess
    import urllib.parse

    value = CANARIES["stripe_api_key"]
    (leak_world.project / ".billingops").mkdir(exist_ok=True)
    (leak_world.project / ".billingops" / "b64.log").write_text("x" + base64.b64encode(b"ab" + value.encode()).decode())
    (leak_world.tmpdir / "url.txt").write_text("?k=" + urllib.parse.quote(value, safe=""))
    leak_world.runs.append((["fake"], subprocess.CompletedProcess([], 0, CANARIES["redis_password"], "")))
    hits, _ = scan(leak_world)
    joined = "\n".join(hits)
    assert "b64.log" in joined and "url.txt" in joined and "stdout of ['fake']" in joined
