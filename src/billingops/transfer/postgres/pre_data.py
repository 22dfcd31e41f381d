"""The pre-data schema (schemas, types, tables, functions, views...) sent to the target as one SQL string, in
one transaction.

`pg_restore --single-transaction --dbname` sends a schema statement by statement, one round trip each: 530
tables and their sequences took 2.4-5.0 s here. The same SQL, written by pg_restore without a connection
(`--file`), goes in as one simple query instead: the server parses it whole, runs it statement by statement and
stops at the first error, which aborts the transaction. A failed script is rolled back and replayed through
pg_restore, whose error names the entry that fails; a script holding anything but SQL (a psql meta-command)
goes in through pg_restore from the start.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from billingops import process, redact
from billingops.errors import ExternalError
from billingops.transfer.postgres import watchdog as postgres_watchdog
from billingops.transfer.postgres.conn import PgEndpoint

log = logging.getLogger(__name__)

TIMEOUT = 1800
# pg_restore 15.14+ brackets a plain script with `\restrict KEY` ... `\unrestrict KEY`, psql meta-commands
# that keep psql from obeying meta-commands smuggled into the dump through object names. No psql reads this
# script and the server would take a meta-command for bad SQL: the pair is dropped, and a script with any other
# line starting with a backslash (possible only inside a quoted body, or from a future pg_restore) is left to
# pg_restore.
_RESTRICT = re.compile(rb"^\\(?:un)?restrict [A-Za-z0-9]+\r?\n", re.M)
_META = re.compile(rb"^\\", re.M)
_ENCODING = re.compile(rb"^SET client_encoding = '([A-Za-z0-9_]+)';$", re.M)
# The server parses a query string whole before it runs any of it: a schema of many thousand objects goes in
# a few strings of about this size (one round trip each, still one transaction), cut where pg_restore starts
# an entry. A cut that falls inside a quoted body (a line that only looks like an entry's header) fails to
# parse, and the replay through pg_restore then restores it right.
CHUNK_BYTES = 8 << 20
_ENTRY_START = b"\n--\n-- Name: "
# --verbose: `pg_restore: creating TABLE "billing.customers"` before each entry's statements
_CREATING = re.compile(r"^pg_restore: creating (.+)$")


def restore(target: PgEndpoint, dump: Path, listfile: Path, workdir: Path,
            record_xid: Callable[[int], None] | None = None) -> None:
    """The `listfile` entries of the dump's pre-data section on the target, all or nothing. `record_xid` is
    given the transaction's id before it commits: a run killed between the commit and its journal's next save
    leaves the id behind, and the resumed run asks the target whether it committed (committed_xid)."""
    script = _script(dump, listfile, workdir)
    if script is None:
        log.info("pre-data: the script holds psql meta-commands; restoring it through pg_restore")
    else:
        failure = _send(target, script, record_xid)
        if failure is None:
            return
        log.info("pre-data: the script failed and was rolled back (%s); replaying it through pg_restore to name "
                 "the failing entry", failure)
        postgres_watchdog.raise_if_frozen(target.params())
    _pg_restore(target, dump, listfile)


def _script(dump: Path, listfile: Path, workdir: Path) -> bytes | None:
    """pg_restore's plain SQL for the listed entries (no connection), or None when it is not all SQL."""
    path = workdir / "pre-data.sql"
    tool = process.which("pg_restore")
    process.run(
        [tool, "--section=pre-data", "--no-owner", "--no-acl", "--use-list", str(listfile), "--file", str(path),
         str(dump)],
        timeout=TIMEOUT,
    )
    # bytes: the script is in the source database's encoding, which its own SET client_encoding names
    script = _RESTRICT.sub(b"", path.read_bytes())
    return None if _META.search(script) else script


def committed(target: PgEndpoint, xid: int) -> bool:
    """Whether the target committed transaction `xid` (False: aborted, still open, or too old to tell)."""
    with target.connect() as conn:
        row = conn.execute("SELECT txid_status(%s)", (xid,)).fetchone()
    return bool(row and row[0] == "committed")


def _send(target: PgEndpoint, script: bytes, record_xid: Callable[[int], None] | None = None) -> str | None:
    """Run the script in one transaction: None once committed, else the error (the transaction rolled back)."""
    import psycopg
    from psycopg import sql

    found = _ENCODING.search(script)
    encoding = found.group(1).decode() if found else "UTF8"
    with target.connect() as conn:
        # pg_restore ran under a timeout; a query has none (the script sets statement_timeout = 0)
        timer = threading.Timer(TIMEOUT, conn.cancel_safe)
        timer.daemon = True
        timer.start()
        try:
            if conn.info.parameter_status("client_encoding") != encoding.encode():
                # the server decodes a query string in the encoding set when it arrives, not by a SET inside it
                conn.execute(sql.SQL("SET client_encoding = {}").format(sql.Literal(encoding)))
            conn.execute("BEGIN")
            if record_xid is not None:
                record_xid(int(conn.execute("SELECT txid_current()").fetchone()[0]))
            for chunk in _chunks(script + b"\nCOMMIT;\n"):
                conn.execute(chunk)
        except psycopg.errors.QueryCanceled:
            raise ExternalError(
                f"Creating the schema on the target did not finish within {TIMEOUT}s; nothing was created.",
                hint="Check for sessions holding locks on the target database, then rerun with --resume.",
            ) from None
        except psycopg.Error as exc:
            _rollback(conn)
            return redact.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        finally:
            timer.cancel()
    return None


def _chunks(script: bytes) -> list[bytes]:
    """The script cut at entry starts into strings of about CHUNK_BYTES (one string for most schemas)."""
    chunks, start = [], 0
    while len(script) - start > CHUNK_BYTES:
        cut = script.find(_ENTRY_START, start + CHUNK_BYTES)
        if cut < 0:
            break
        chunks.append(script[start:cut])
        start = cut
    chunks.append(script[start:])
    return chunks


def _rollback(conn: Any) -> None:  # Any: a psycopg connection, imported lazily
    """End the aborted transaction before the replay opens its own connection (closing alone would leave
    the old backend's locks to go away on their own time)."""
    import psycopg

    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        pass  # a lost connection: the server rolls the transaction back


def _pg_restore(target: PgEndpoint, dump: Path, listfile: Path) -> None:
    tool = process.which("pg_restore")
    result = process.run(
        # --verbose names each entry as it starts: the last one named is the one that failed
        [tool, "--section=pre-data", "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
         "--verbose", "--use-list", str(listfile), "--dbname", target.dbname, str(dump)],
        env=target.child_env(),
        timeout=TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise _failed(result)


def _failed(result: process.Completed) -> ExternalError:
    """Name the entry and the server's error (pg_restore prints both) rather than quote its whole output."""
    lines = result.stderr.splitlines()
    entries = [m.group(1) for m in map(_CREATING.match, lines) if m]
    errors = [line.split("ERROR:", 1)[1].strip() for line in lines if "ERROR:" in line]
    if not entries or not errors:
        return process.command_failed(result)
    return ExternalError(
        redact.redact(
            f"Creating the schema on the target failed at {entries[-1]}: {errors[0]}. Nothing was created: "
            f"the schema goes in as one transaction."
        ),
        hint="Fix the cause on the target (an object already there, a missing extension or privilege) or on "
        "the source, then rerun with --resume: the schema step starts again.",
    )
