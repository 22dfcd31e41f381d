"""What migrate-cloud says before and after, as data: the dry-run plan and the cutover steps left to do.

The command renders them at the edge (commands/migrate_cloud.py); the JSON document is the same data.
"""

from __future__ import annotations

from typing import Any

CONSOLE_NAMES = {"aws": "AWS Secrets Manager", "gcp": "GCP Secret Manager"}


def cutover_steps(source: str, target: str, env: str) -> list[str]:
    return [
        f"Stop the writers on {source}: scale the {env} service to zero (or put it in maintenance mode) and "
        f"confirm no connections remain on the source database and Redis.",
        f"Final check: rerun `billingops migrate-cloud {source} {target} --env {env} --resume` (or "
        f"a fresh run "
        f"with --replace-target) so the target holds the last writes, and confirm verification is all OK.",
        f"Switch the application's secrets on {target} ({CONSOLE_NAMES[target]}): DATABASE_URL and REDIS_URL "
        f"must point at the {target} databases (`billingops secrets ... --cloud {target} --env {env}`).",
        f"Deploy / start the {env} service on {target} and check `billingops status --cloud "
        f"{target} --env {env}`.",
        f"Switch DNS ({env} domain) to the {target} load balancer; keep the {source} side read-only "
        f"until the "
        f"rollback window closes (see runbooks/migrate-cloud.md).",
    ]


def what_would_be_done(pg: dict[str, Any] | None, redis: dict[str, Any] | None, replace: bool) -> list[str]:
    steps = []
    if pg:
        inv = pg["preflight"]["source"]
        if pg["preflight"]["target_objects"]:
            steps.append(
                "empty the target database (--replace-target)"
                if replace
                else "REFUSE: the target database is not empty (pass --replace-target to overwrite it)"
            )
        if pg["preflight"]["missing_extensions"]:
            steps.append("FAIL: target lacks extensions " + ", ".join(pg["preflight"]["missing_extensions"]))
        steps += [
            "dump the source schema (pg_dump --schema-only --no-owner --no-acl) and create it on the target",
            f"copy {len(inv['tables'])} tables ({_mb(inv['total_bytes'])}) with binary COPY pipes under one "
            f"snapshot",
            f"copy {inv['large_objects']} large objects"
            if inv["large_objects"]
            else "no large objects to copy",
            "build each table's indexes and keys as soon as its rows are in, then foreign keys and triggers "
            "(pg_restore -j N); refresh materialized views",
            f"set {inv['sequences']} sequences to the source's values",
        ]
        skipped = inv["skipped"]
        for kind, names in skipped.items():
            if names:
                steps.append(f"skip and report {kind.replace('_', ' ')}: {', '.join(names)}")
    if redis:
        if redis.get("target_keys"):
            steps.append(
                "overwrite keys on the target Redis (--replace-target)"
                if replace
                else "REFUSE: the target Redis has keys (pass --replace-target to overwrite them)"
            )
        steps.append(
            f"copy Redis dbs {', '.join(str(d) for d in redis['source']['dbs']) or '(none)'} with "
            f"SCAN + DUMP/PEXPIRETIME + RESTORE ABSTTL"
        )
    steps.append("verify, then print the cutover steps")
    return steps


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:,.1f} MB"
