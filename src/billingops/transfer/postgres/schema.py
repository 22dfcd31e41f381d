"""Schema through the PostgreSQL tools: one custom-format schema dump, restored in pieces.

pre-data (types, tables, functions, views...) goes in as one transaction, one SQL string (pre_data.py), before
any row moves. post-data is split: each copied table's indexes and primary/unique keys are restored as soon as
its rows are in (while other tables still copy), foreign keys between copied tables as soon as both tables are
indexed, and the rest (triggers, index attachments...) at the end with `pg_restore -j N`. Owners and grants
are left out (`--no-owner --no-acl`) so every object belongs to the target user (RDS `rds_superuser` and Cloud
SQL `cloudsqlsuperuser` cannot take each other's ownership); event triggers, publications and subscriptions
are filtered out of the table of contents and reported.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billingops import process, redact
from billingops.errors import ExternalError
from billingops.transfer.postgres import pre_data
from billingops.transfer.postgres.conn import PgEndpoint

log = logging.getLogger(__name__)

DUMP_TIMEOUT = 1800
POST_DATA_TIMEOUT = 6 * 3600
# TOC entry types that must not be replayed on another cloud's managed server.
SKIPPED_TYPES = (
    "EVENT TRIGGER",
    "PUBLICATION",
    "PUBLICATION TABLE",
    "PUBLICATION TABLES IN SCHEMA",
    "SUBSCRIPTION",
    "SUBSCRIPTION TABLE",
)
# On a resumed post-data step, objects built before the interruption answer with these; anything else is real.
_ALREADY_DONE = re.compile(r"already exists|multiple primary keys for table")
# Index builds are the long pole: give them memory (session-level, allowed on RDS and Cloud SQL).
POST_DATA_OPTIONS = "-c maintenance_work_mem=512MB -c synchronous_commit=off"
# A foreign key's validation query (referencing rows without a referenced row) picks a hash anti join on
# freshly copied tables: a seq scan of the whole referencing table probing a hash of the referenced keys.
# When an index on the referencing table leads with the key's columns and both tables were copied frozen
# (all-visible), a merge anti join of two index-only scans reads a fraction of the pages: 0.9-1.3 s
# instead of 2.8-3.7 s for 6M rows referencing 2M here.
MERGE_JOIN_OPTIONS = "-c enable_hashjoin=off"


def dump_schema(source: PgEndpoint, workdir: Path) -> Path:
    """pg_dump --schema-only in custom format, run read-only against the source."""
    return SchemaDump(source, workdir).wait()


class SchemaDump:
    """`pg_dump --schema-only` in custom format, read-only against the source, running in the background from
    its start: migrate-cloud starts it before the preflight, whose round trips it then overlaps, and waits for
    it when the schema phase needs it. It writes beside its final name and is renamed there once complete, so
    a run killed mid-dump never leaves a truncated dump that a resumed run would take for whole."""

    def __init__(self, source: PgEndpoint, workdir: Path) -> None:
        tool = process.which("pg_dump", hint="Install the PostgreSQL 15 client tools (postgresql-client-15).")
        workdir.mkdir(parents=True, exist_ok=True)
        self.path = workdir / "schema.dump"
        # A name of its own: a pg_dump left running by a killed run must not write into the resumed run's file.
        fd, partial = tempfile.mkstemp(prefix="schema.dump.", suffix=".partial", dir=workdir)
        os.close(fd)
        self._partial = Path(partial)
        self._log = self._partial.with_suffix(".log")
        self._argv = [tool, "--schema-only", "--no-owner", "--no-acl", "--no-publications", "--no-subscriptions",
                      "--format=custom", "--file", str(self._partial), "--dbname", source.dbname]
        self._lock = threading.Lock()
        self._started = time.monotonic()
        log.debug("run in the background: %s", " ".join(redact.redact_argv(self._argv)))
        with open(self._log, "wb") as stderr:
            self._proc = subprocess.Popen(self._argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=stderr, env=source.child_env(read_only=True))

    def wait(self) -> Path:
        """The complete dump, once pg_dump has written it (any thread; each waits for the same dump)."""
        with self._lock:
            if self.path.is_file() and self._proc.returncode == 0:
                return self.path
            try:
                code = self._proc.wait(timeout=max(1.0, DUMP_TIMEOUT - (time.monotonic() - self._started)))
            except subprocess.TimeoutExpired:
                self.discard()
                raise ExternalError(f"`pg_dump` did not finish within {DUMP_TIMEOUT}s.",
                                    hint="Check that the source PostgreSQL is reachable, then retry.") from None
            if code != 0:
                stderr = self._log.read_text(errors="replace") if self._log.is_file() else ""
                raise process.command_failed(process.Completed(self._argv, code, "", stderr))
            self._partial.replace(self.path)
            self._log.unlink(missing_ok=True)
        return self.path

    def discard(self) -> None:
        """Stop pg_dump if it still runs and remove what it wrote (a refused or failed run leaves nothing)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for path in (self._partial, self._log):
            path.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop pg_dump if it still runs (an interrupted run): a finished dump stays for --resume."""
        if self._proc.poll() is None:
            self.discard()


def toc_list(dump: Path, workdir: Path, section: str) -> tuple[Path, list[str]]:
    """The dump's table of contents for one section minus skipped entries; returns (list file, skipped
    names)."""
    tool = process.which("pg_restore")
    listing = process.run([tool, "--list", f"--section={section}", str(dump)], timeout=120).stdout
    kept, skipped = [], []
    for line in listing.splitlines():
        entry_type = _entry_type(line)
        if entry_type in SKIPPED_TYPES:
            skipped.append(f"{entry_type.lower()}: {line.split(entry_type, 1)[1].strip()}")
            kept.append(";" + line)
        else:
            kept.append(line)
    path = workdir / f"{section}.list"
    path.write_text("\n".join(kept) + "\n")
    return path, skipped


def _entry_type(line: str) -> str | None:
    if not line or line.startswith(";"):
        return None
    match = re.match(r"^\d+;\s+\d+\s+\d+\s+(.*)$", line)
    if not match:
        return None
    rest = match.group(1)
    for kind in sorted(SKIPPED_TYPES, key=len, reverse=True):
        if rest.startswith(kind + " "):
            return kind
    return rest.split(" ", 1)[0]


# Built per table as soon as its rows are in, while other tables still copy (as pgcopydb does): the index
# phase is 40-55% of a migration, and overlapping it with the copy keeps every core busy until the end.
PER_TABLE_TYPES = ("INDEX", "CONSTRAINT")
_INDEX_TABLES = """
SELECT n.nspname, ic.relname, format('%s.%s', n.nspname, t.relname), pg_relation_size(ic.oid)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
"""


def split_constraints(entries: list[str], index_bytes: dict[str, int]) -> tuple[list[str], list[str]]:
    """A table's per-table entries as (keys: primary, unique, exclusion; plain indexes, biggest first). A key
    is added by ALTER TABLE, whose lock excludes any other build on the table; CREATE INDEX builds can run side
    by side, and the longest should start first (the source's index size stands for its build time)."""
    constraints = [e for e in entries if _entry_type(e) != "INDEX"]
    indexes = [e for e in entries if _entry_type(e) == "INDEX"]
    return constraints, sorted(indexes, key=lambda e: -index_bytes.get(e, 0))


# Foreign keys between copied tables, with the index each one's referenced key uses.
_FOREIGN_KEYS = """
SELECT n.nspname, t.relname, c.conname, format('%s.%s', n.nspname, t.relname),
       format('%s.%s', rn.nspname, r.relname), inn.nspname, i.relname,
       EXISTS (SELECT 1 FROM pg_index x JOIN pg_class xc ON xc.oid = x.indexrelid
               WHERE x.indrelid = c.conrelid AND xc.relam = 403 AND x.indpred IS NULL
                 AND x.indexprs IS NULL AND x.indnkeyatts >= cardinality(c.conkey)
                 AND (x.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey)
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
JOIN pg_class i ON i.oid = c.conindid JOIN pg_namespace inn ON inn.oid = i.relnamespace
WHERE c.contype = 'f'
"""


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key that can be added as soon as both of its tables are copied and indexed."""

    entry: str  # its TOC line
    table: str
    referenced: str
    indexed: bool = False  # a btree index on the referencing table leads with the key's columns

    @property
    def tables(self) -> frozenset[str]:
        return frozenset((self.table, self.referenced))


@dataclass
class PostDataPlan:
    per_table: dict[str, list[str]] = field(default_factory=dict)  # table key -> its index/constraint entries
    rest: list[str] = field(default_factory=list)  # FKs, triggers, index attachments...: after all tables
    # Also in `rest`: added early when both tables are ready; the final step skips the ones already added.
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    # INDEX entry -> the index's size on the source: the longest builds of a big table start first.
    index_bytes: dict[str, int] = field(default_factory=dict)


def plan_post_data(dump: Path, source_conn: Any, tables: set[str]) -> PostDataPlan:
    """Split the post-data TOC: entries owned by one copied table, and everything else."""
    found = source_conn.execute(_INDEX_TABLES).fetchall()
    index_table = {(r[0], r[1]): r[2] for r in found}
    index_bytes = {(r[0], r[1]): int(r[3] or 0) for r in found}
    tool = process.which("pg_restore")
    listing = process.run([tool, "--list", "--section=post-data", str(dump)], timeout=120).stdout
    plan = PostDataPlan()
    for line in listing.splitlines():
        entry_type = _entry_type(line)
        if entry_type is None or entry_type in SKIPPED_TYPES:
            continue
        table = _owning_table(line, entry_type, index_table)
        if table in tables:
            plan.per_table.setdefault(table, []).append(line)
            if entry_type == "INDEX":
                words = line.split(" INDEX ", 1)[1].split(" ")
                plan.index_bytes[line] = index_bytes.get((words[0], " ".join(words[1:-1])), 0)
        else:
            plan.rest.append(line)
    plan.foreign_keys = _early_foreign_keys(plan, source_conn, tables)
    return plan


def _early_foreign_keys(plan: PostDataPlan, source_conn: Any, tables: set[str]) -> list[ForeignKey]:
    """FK entries whose two tables are copied here and whose referenced key is built per table.

    Validating a foreign key reads the whole referencing table: started while other tables still copy, it
    no longer waits for the last table (the tail is what separates a migration from its COPY time).
    """
    built = set()  # (schema, index name) of every per-table index and key; a key's index bears its name
    for entries in plan.per_table.values():
        for line in entries:
            kind = _entry_type(line)
            words = line.split(f" {kind} ", 1)[1].split(" ")
            if kind == "INDEX" and len(words) == 3:
                built.add((words[0], words[1]))
            elif kind == "CONSTRAINT" and len(words) == 4:
                built.add((words[0], words[2]))
    found = {
        (r[0], r[1], r[2]): (r[3], r[4], (r[5], r[6]), bool(r[7]))
        for r in source_conn.execute(_FOREIGN_KEYS).fetchall()
    }
    early = []
    for line in plan.rest:
        if not line.split(" ", 3)[3].startswith("FK CONSTRAINT "):
            continue
        words = line.split(" FK CONSTRAINT ", 1)[1].split(" ")
        if len(words) != 4 or (words[0], words[1], words[2]) not in found:
            continue  # names with spaces stay in the final step, which is always correct
        table, referenced, index, indexed = found[(words[0], words[1], words[2])]
        if table in tables and referenced in tables and index in built:
            early.append(ForeignKey(line, table, referenced, indexed))
    return early


def _owning_table(line: str, entry_type: str, index_table: dict[tuple[str, str], str]) -> str | None:
    if entry_type not in PER_TABLE_TYPES:
        return None
    # "ID; CAT OID TYPE SCHEMA TAG OWNER"; a CONSTRAINT's tag is "table name", an INDEX's is its name.
    # Names with
    # spaces fall through to the final step, which is always correct, only later.
    words = line.split(f" {entry_type} ", 1)[1].split(" ")
    if len(words) < 3:
        return None
    schema, tag = words[0], words[1:-1]
    if entry_type == "CONSTRAINT":
        return f"{schema}.{tag[0]}" if len(tag) == 2 else None
    return index_table.get((schema, " ".join(tag)))


def restore_entries(
    target: PgEndpoint,
    dump: Path,
    workdir: Path,
    name: str,
    entries: list[str],
    *,
    jobs: int,
    tolerate_existing: bool,
    options: str = "",
) -> None:
    """pg_restore exactly `entries` of the dump (TOC lines). A resumed run may find some built already."""
    if not entries:
        return
    listfile = workdir / f"post-data-{_safe(name)}.list"
    listfile.write_text("\n".join(entries) + "\n")
    tool = process.which("pg_restore")
    argv = [
        tool,
        "--no-owner",
        "--no-acl",
        f"--jobs={max(1, jobs)}",
        "--use-list",
        str(listfile),
        "--dbname",
        target.dbname,
        str(dump),
    ]
    if not tolerate_existing:
        argv.insert(-1, "--exit-on-error")
    result = process.run(
        argv,
        env=target.child_env(extra_options=f"{POST_DATA_OPTIONS} {options}".strip()),
        timeout=POST_DATA_TIMEOUT, check=False
    )
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "ERROR:" in line]
        real = [line for line in errors if not _ALREADY_DONE.search(line)]
        if not tolerate_existing or real or not errors:
            raise process.command_failed(result)
        log.info("post-data %s: %d objects were already built by the interrupted run", name, len(errors))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100]


def restore_pre_data(target: PgEndpoint, dump: Path, workdir: Path,
                     record_xid: Callable[[int], None] | None = None) -> list[str]:
    """Create the schema objects on the target in one transaction (all or nothing, so a resume can redo
    it), sent as one SQL string (pre_data.py); returns the entries left out."""
    listfile, skipped = toc_list(dump, workdir, "pre-data")
    pre_data.restore(target, dump, listfile, workdir, record_xid)
    return skipped


def wipe_target(conn: Any) -> None:
    """Drop every user schema (CASCADE) and large object on the target: --replace-target, after
    confirmation."""
    schemas = [
        r[0]
        for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> "
            "'information_schema'"
        ).fetchall()
    ]
    import psycopg
    from psycopg import sql

    try:
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        conn.execute("CREATE SCHEMA IF NOT EXISTS public")
        conn.execute("SELECT lo_unlink(oid) FROM pg_largeobject_metadata")
    except psycopg.Error as exc:  # the target user may not own everything there
        raise ExternalError(
            f"Could not empty the target database: {exc}.",
            hint="Empty it by hand as its owner (or recreate the database), then rerun "
            "without --replace-target.",
        ) from None
