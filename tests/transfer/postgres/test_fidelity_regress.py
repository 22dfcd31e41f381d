"""Fidelity: the PostgreSQL 15 regression database (a database nobody here wrote) migrates with exit 0 and full
verification, and the copy differs from the source in nothing that `pg_dump | psql` does not also get wrong.

Compared with the source, for migrate-cloud's copy and for pg_dump|psql's: row count and a row hash per table
and materialized view, sequences, large objects with owner, privileges and comment, and `pg_dump -s` object by
object (without owners, grants and publications on both sides: the plan skips those on purpose and says so).
The figures (object counts, both times) are printed for the record: `pytest -s -k fidelity`.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import psycopg
import pytest

from billingops.transfer.postgres import objects as postgres_objects
from tests.support import migrate_cli
from tests.transfer.postgres import regress_db

pytestmark = pytest.mark.slow

SCHEMA_FLAGS = ["--schema-only", "--no-owner", "--no-acl", "--no-publications", "--no-subscriptions"]
_HEADER = re.compile(r"^-- (Data for )?Name: .*; Type: .*$")
_ROW_ALIAS = '"_fidelity_row"'


@pytest.fixture(scope="module")
def regression(source_pg):
    started = time.monotonic()
    folder = regress_db.build(source_pg, "regression")
    yield source_pg.url("regression"), time.monotonic() - started
    regress_db.cleanup(folder)


def _relations(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
            "AND (c.relkind = 'r' OR c.relispopulated) ORDER BY 1").fetchall()]


def table_hashes(url: str) -> dict[str, tuple[int, int] | str]:
    """{relation: (rows, sum of row text hashes)}, or the error reading it."""
    found: dict[str, tuple[int, int] | str] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET search_path = pg_catalog")  # a regression table can be named like a function
        for rel in _relations(url):
            try:
                count, total = conn.execute(
                    f"SELECT count(*), coalesce(sum(hashtextextended({_ROW_ALIAS}::text, 0)), 0) "  # noqa: S608
                    f"FROM ONLY {rel} {_ROW_ALIAS}"
                ).fetchone()
                found[rel] = (int(count), int(total))
            except psycopg.Error as exc:
                found[rel] = f"error: {str(exc).splitlines()[0]}"
    return found


def schema_objects(url: str) -> dict[str, str]:
    """`pg_dump -s`, object by object: {header line (+n for repeats): the statements under it}."""
    text = subprocess.run(["pg_dump", *SCHEMA_FLAGS, "-d", url], capture_output=True, text=True,
                          check=True).stdout
    objects: dict[str, str] = {}
    key, body = "(preamble)", []
    for line in text.splitlines():
        if _HEADER.match(line):
            objects[_unique(objects, key)] = "\n".join(body).strip()
            key, body = line, []
        elif line != "--":
            body.append(line)
    objects[_unique(objects, key)] = "\n".join(body).strip()
    return objects


def _unique(found: dict[str, str], key: str) -> str:
    n, candidate = 1, key
    while candidate in found:
        n += 1
        candidate = f"{key} +{n}"
    return candidate


def large_objects(url: str) -> dict[int, tuple]:
    with psycopg.connect(url) as conn:
        digests = postgres_objects.large_object_digests(conn)
        meta = postgres_objects.large_object_metadata(conn)
    return {oid: (digests.get(oid), *meta[oid]) for oid in meta}


def sequences(url: str) -> dict[str, tuple[int, bool]]:
    with psycopg.connect(url) as conn:
        return postgres_objects.read_sequences(conn)


def differences(source: dict, copy: dict) -> set[str]:
    return {str(k) for k in source.keys() | copy.keys() if source.get(k) != copy.get(k)}


def snapshot(url: str) -> dict[str, dict]:
    return {
        "tables": table_hashes(url),
        "sequences": sequences(url),
        "large objects": large_objects(url),
        "schema": schema_objects(url),
    }


def test_the_regression_database_migrates_as_well_as_pg_dump_psql(run_cli, regression, source_pg, target_pg,
                                                                   tmp_path):
    source, build_seconds = regression
    regress_db.copy_roles(source_pg.url(), target_pg.url())  # the operator's step before either copy
    by_dump = target_pg.createdb("regression_pg_dump")
    by_us = target_pg.createdb("regression_migrate_cloud")

    started = time.monotonic()
    dump = subprocess.Popen(["pg_dump", "-d", source], stdout=subprocess.PIPE)
    subprocess.run(["psql", "-X", "-q", "-d", by_dump], stdin=dump.stdout, capture_output=True, check=False)
    dump.wait()
    dump_seconds = time.monotonic() - started

    dry = run_cli(*migrate_cli.args(*migrate_cli.postgres(source, by_us), "--dry-run"), timeout=900)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)["postgres"]
    started = time.monotonic()
    result = run_cli(*migrate_cli.args(*migrate_cli.postgres(source, by_us), "--verify", "full"), timeout=1800)
    migrate_seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["postgres"]["verification"]["mode"] == "full"

    original, ours, theirs = snapshot(source), snapshot(by_us), snapshot(by_dump)
    record = {
        "source": plan["preflight"]["source"]["object_kinds"],
        "relations compared": len(original["tables"]),
        "text_copy_tables": len(plan["preflight"]["source"]["text_copy_tables"]),
        "estimate_seconds": plan["estimate"]["seconds"],
        "build_seconds": round(build_seconds, 1),
        "migrate_cloud_seconds": round(migrate_seconds, 1),
        "pg_dump_psql_seconds": round(dump_seconds, 1),
    }
    failures = {}
    for part in original:
        ours_wrong = differences(original[part], ours[part])
        theirs_wrong = differences(original[part], theirs[part])
        record[f"{part}: pg_dump|psql differences"] = sorted(theirs_wrong)
        if ours_wrong - theirs_wrong:
            failures[part] = sorted(ours_wrong - theirs_wrong)
    print("\nfidelity record:", json.dumps(record, indent=1))
    assert not failures, json.dumps(failures, indent=1)[:6000]
