"""What migrate-cloud says before and after: the dry-run plan, the cutover steps left to do, and the Rich
views.

Commands return plain data; these functions render it at the edge (the JSON document is the same data).
"""

from __future__ import annotations

from typing import Any

from billingops.transfer.redis import functions as redis_functions

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
        for table, why in (inv.get("text_copy_tables") or {}).items():
            steps.append(f"copy {table} with text COPY ({why})")
        skipped = inv["skipped"]
        reasons = inv.get("skip_reasons") or {}
        for kind, names in skipped.items():
            if names:
                why = f" ({reasons[kind]})" if kind in reasons else ""
                steps.append(f"skip and report {kind.replace('_', ' ')}{why}: {', '.join(names)}")
        for row in inv.get("object_kinds") or []:
            if not row["carried"] and row["count"] and row["kind"].replace(" ", "_") not in skipped:
                steps.append(f"skip {row['count']} {row['kind']} ({row['why']})")
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
        steps += _redis_beyond_keys(redis)
    steps.append("verify, then print the cutover steps")
    return steps


def _redis_beyond_keys(redis: dict[str, Any]) -> list[str]:
    """Functions, settings, and what else a key copy does not carry."""
    steps = []
    functions = redis["source"].get("functions") or {}
    if functions:
        steps.append(
            f"copy {len(functions)} Redis function libraries with FUNCTION DUMP / FUNCTION RESTORE and verify "
            f"them: {', '.join(functions)}"
        )
    source_settings, target_settings = redis["source"].get("settings", {}), redis["target"].get("settings", {})
    for row in redis_functions.compare_rows(source_settings, target_settings):
        if row["same"] is True:
            continue
        if row["same"] is False:
            steps.append(
                f"DIFFERENCE: Redis {row['setting']} is {row['source']!r} on the source and {row['target']!r} on "
                "the target; a key copy does not carry it: set it on the target through terraform before cutover"
            )
        else:
            steps.append(
                f"CHECK: Redis {row['setting']} could not be read on both sides (CONFIG blocked; source "
                f"{row['source']!r}, target {row['target']!r}): compare it in terraform before cutover"
            )
    for what, how in redis_functions.NOT_CARRIED.items():
        if what.startswith(("functions", "server settings")):
            continue  # said above
        steps.append(f"Redis {what}: {how}")
    return steps


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:,.1f} MB"
