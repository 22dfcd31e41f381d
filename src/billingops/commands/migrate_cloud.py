"""`billingops migrate-cloud SOURCE TARGET --env ENV`: move PostgreSQL and Redis data between AWS and GCP,
verified (services.migrate_cloud); this module holds the options and the views of the results.
"""

# No `from __future__ import annotations`: with_session rebuilds the signature and Typer must see the real
# Annotated objects, not strings it cannot resolve in another module.

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from billingops.commands.common import LockWaitOpt, NoLockOpt, Session, choice_option, with_session
from billingops.console import Output

log = logging.getLogger(__name__)

Only = Annotated[str | None, typer.Option("--only", help="Move only one store: postgres or redis.")]


def _url(flag: str, what: str) -> Any:
    envvar = "BILLINGOPS_" + flag.lstrip("-").upper().replace("-", "_") + "_URL"
    return Annotated[
        str | None,
        typer.Option(flag, help=f"{what} URL, or @FILE (its first line); overrides terraform outputs and the secret "
                                f"store. Shown redacted. Prefer ${envvar} or @FILE: arguments show in `ps`."),
    ]


def _ca(flag: str, side: str) -> Any:
    return Annotated[Path | None, typer.Option(flag, help=f"Server CA (PEM) for a rediss:// {side} URL (Memorystore).")]


def _sslrootcert(flag: str, side: str) -> Any:
    return Annotated[Path | None, typer.Option(
        flag, help=f"CA bundle (PEM) that signed the {side} PostgreSQL's certificate (RDS: global-bundle.pem): "
                   "the connection uses sslmode=verify-full. Without a CA a remote server gets sslmode=require, "
                   "reported as not verified.")]


def register(app: typer.Typer) -> None:
    app.command(
        "migrate-cloud",
        help="Move the billing data (PostgreSQL, Redis) from one cloud to the other, "
        "verified. See runbooks/migrate-cloud.md.",
    )(migrate_cloud)


@with_session(cloud=False)
def migrate_cloud(
    session: Session,
    source: Annotated[str, typer.Argument(help="Cloud to copy from: aws or gcp.")],
    target: Annotated[str, typer.Argument(help="Cloud to copy to: aws or gcp.")],
    only: Only = None,
    source_postgres: _url("--source-postgres", "Source PostgreSQL (postgresql://USER:PW@HOST:PORT/DB)") = None,
    target_postgres: _url("--target-postgres", "Target PostgreSQL") = None,
    source_redis: _url("--source-redis", "Source Redis (redis:// or rediss://)") = None,
    target_redis: _url("--target-redis", "Target Redis") = None,
    source_redis_ca: _ca("--source-redis-ca", "source") = None,
    target_redis_ca: _ca("--target-redis-ca", "target") = None,
    source_sslrootcert: _sslrootcert("--source-sslrootcert", "source") = None,
    target_sslrootcert: _sslrootcert("--target-sslrootcert", "target") = None,
    allow_insecure_redis_tls: Annotated[bool, typer.Option(
        "--allow-insecure-redis-tls",
        help="Accept a Redis URL with ssl_cert_reqs=none (no certificate check); warned about and audited.",
    )] = False,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", help="PostgreSQL: parallel COPY workers, and as many index builds beside them.",
    )] = 2,
    redis_jobs: Annotated[int, typer.Option(
        "--redis-jobs",
        help="Redis worker processes per database (one keeps up with one source server; each extra one "
        "scans the whole keyspace again).",
    )] = 1,
    verify: Annotated[str, choice_option("--verify", ("counts", "full"), metavar="MODE",
                                         help="Verification: counts, or full (checksums).")] = "full",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show sizes, checks and the plan; change nothing.")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Finish the last unfinished run.")] = False,
    replace_target: Annotated[
        bool,
        typer.Option(
            "--replace-target",
            help="Overwrite a non-empty target (asks for the environment name; --yes confirms).",
        ),
    ] = False,
    split_larger_than: Annotated[
        float | None,
        typer.Option(help="Split tables larger than this many MB into parallel ranges (default: automatic)."),
    ] = None,
    lock_wait: LockWaitOpt = None,
    no_lock: NoLockOpt = False,
) -> int:
    from billingops.services import migrate_cloud as use_case

    request = use_case.MigrateRequest(
        source=source, target=target, only=only, source_postgres=source_postgres, target_postgres=target_postgres,
        source_redis=source_redis, target_redis=target_redis, source_redis_ca=source_redis_ca,
        target_redis_ca=target_redis_ca, source_sslrootcert=source_sslrootcert,
        target_sslrootcert=target_sslrootcert, allow_insecure_redis_tls=allow_insecure_redis_tls, jobs=jobs,
        redis_jobs=redis_jobs, verify=verify, dry_run=dry_run, resume=resume,
        replace_target=replace_target, split_larger_than=split_larger_than, lock_wait=lock_wait, no_lock=no_lock,
    )
    output = session.output
    try:
        result = use_case.run(session, request, bars=_bars(output))
    except use_case.RunFailed as failed:
        doc = failed.result
        output.result(doc, lambda _console: render_result(output, doc))
        output.error(failed.error)
        return failed.exit_code
    doc = result.document
    output.result(doc, lambda _console: (render_dry_run if result.dry_run else render_result)(output, doc))
    return 0


def _bars(output: Output) -> Any:
    """Rich progress bars on a terminal (None: JSON-lines events with --json, log lines otherwise)."""
    if output.json_mode or not output.rich:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.fields[count]}", markup=False),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=output.err,
        transient=False,
    )


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:,.1f} MB"


def render_dry_run(output: Output, doc: dict[str, Any]) -> None:
    out = output.out
    out.print(
        f"[bold]migrate-cloud {doc['source']} -> {doc['target']} ({doc['env']}): dry run, nothing changed[/]"
    )
    if doc.get("postgres"):
        _render_postgres_plan(output, doc["postgres"])
    redis = doc.get("redis")
    if redis:
        out.print(
            output.table(
                "Redis keys per db",
                ["db", "source keys", "target keys"],
                [(db, n, redis["target"]["dbs"].get(db, 0)) for db, n in redis["source"]["dbs"].items()],
            )
        )
        est = redis.get("estimate") or {}
        if est.get("keys"):
            out.print(
                f"estimated Redis duration: ~{est['seconds']:.0f} s (sampled {est['read_keys_per_s']:,.0f} "
                f"keys/s)"
            )
    out.print("[bold]would do:[/]")
    for step in doc["would_do"]:
        out.print(f"  - {step}", markup=False)


def _render_postgres_plan(output: Output, pg: dict[str, Any]) -> None:
    out, inv = output.out, pg["preflight"]["source"]
    out.print(
        output.table(
            "PostgreSQL tables (source)",
            ["table", "size", "est. rows", "primary key"],
            [(t["table"], _mb(t["bytes"]), f"{t['est_rows']:,}", t["has_pk"]) for t in inv["tables"]],
        )
    )
    out.print(
        f"extensions: {', '.join(inv['extensions']) or 'none'}; missing on target: "
        f"{', '.join(pg['preflight']['missing_extensions']) or 'none'}"
    )
    out.print(
        f"roles owning or granted objects: {', '.join(inv['roles']) or 'none'}; missing on target: "
        f"{', '.join(pg['preflight']['roles_missing_on_target']) or 'none'}"
    )
    kinds = inv.get("object_kinds") or []
    if kinds:
        out.print(
            output.table(
                "PostgreSQL objects (source): carried or skipped",
                ["kind", "count", "carried", "how / why"],
                [(k["kind"], k["count"], "yes" if k["carried"] else "SKIPPED", k.get("how") or k.get("why"))
                 for k in kinds],
            )
        )
    est = pg["estimate"]
    sampled = f"sampled {est['read_mb_per_s']} MB/s on {est['sample_table']}; " if est.get("read_mb_per_s") else ""
    out.print(
        f"estimated duration: ~{est['seconds']:.0f} s ({est.get('overhead_seconds', 0):.0f} s of it per-object "
        f"work; {sampled}{est['model']})",
        markup=False,
    )


def _ok(ok: bool) -> str:
    return "OK" if ok else "FAIL"


def _verification_rows(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    ver = (doc.get("postgres") or {}).get("verification")
    if ver:
        rows += [("postgres", t["table"], t["source_rows"], t["target_rows"], t["checksum"] or "n/a", _ok(t["ok"]))
                 for t in ver["tables"]]
        rows.append(("postgres", f"{ver['sequences']} sequences", "", "", "", _ok(not ver["sequence_mismatches"])))
        if ver["large_objects"] or ver["large_object_mismatches"]:
            rows.append(("postgres", f"{ver['large_objects']} large objects", "", "", "",
                         _ok(not ver["large_object_mismatches"])))
    for d in (doc.get("redis") or {}).get("verification") or []:
        rows.append(("redis", f"db {d['db']}" if d["db"] != "functions" else "function libraries",
                     d.get("source_keys"), d.get("target_keys"), ", ".join(d.get("mismatches", [])[:3]) or "match",
                     _ok(bool(d.get("ok")))))
    return rows


def render_result(output: Output, doc: dict[str, Any]) -> None:
    out = output.out
    rows = _verification_rows(doc)
    styles = [None if row[-1] == "OK" else "red" for row in rows]
    out.print(output.table(f"Verification ({doc['verify']})",
                           ["store", "object", "source", "target", "check", "result"], rows, styles))
    pg = doc.get("postgres")
    if pg:
        secs = pg.get("seconds", {})
        out.print("postgres timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in secs.items()))
        if pg.get("skipped"):
            out.print("skipped (recreate by hand if needed): " + ", ".join(pg["skipped"]), markup=False)
        if pg.get("roles_missing_on_target"):
            out.print("roles to create on the target before the app uses it: "
                      + ", ".join(pg["roles_missing_on_target"]), markup=False)
    out.print(f"[bold]{'Verified OK' if doc['ok'] else 'VERIFICATION FAILED'}[/] (run {doc['run_id']})")
    out.print("[bold]Cutover steps still to do:[/]")
    for index, step in enumerate(doc["cutover"], 1):
        out.print(f"  {index}. {step}", markup=False)
