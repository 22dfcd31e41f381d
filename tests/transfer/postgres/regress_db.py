"""The PostgreSQL 15 regression database, built as pg_regress builds it, and the comparisons the fidelity suite
makes between a source and a copy of it.

The `sql/` and `data/` folders and `parallel_schedule` of src/test/regress come from Debian's postgresql-15
source package (tests/data/README.md); they are unpacked into a folder the server can read (COPY ... FROM
a server-side file). Each test script runs with psql under pg_regress's environment, one after the other
(the parallel groups only save time); scripts that need the C test library (regress.so) fail in parts, as
they do without it, and leave what they created.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

ARCHIVE = Path(__file__).parents[2] / "data" / "postgresql-15.18-regress.tar.xz"
# What pg_regress sets for the scripts and on the database (pg_regress.c: initialize_environment,
# create_database).
ENV = {"PGTZ": "PST8PDT", "PGDATESTYLE": "Postgres, MDY", "PG_DLSUFFIX": ".so", "PGOPTIONS": ""}
DATABASE_SETTINGS = {
    "lc_messages": "C", "lc_monetary": "C", "lc_numeric": "C", "lc_time": "C", "bytea_output": "hex",
    "timezone_abbreviations": "Default",
}


def unpack() -> Path:
    """sql/, data/ and parallel_schedule in a fresh folder every user (the server's too) can read."""
    base = Path(tempfile.mkdtemp(prefix="billingops-regress-"))
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(base)  # nosec B202  # our own vendored archive
    (base / "results").mkdir()
    (base / "lib").mkdir()
    for path in [base, *base.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    return base


def schedule(base: Path) -> list[list[str]]:
    groups = []
    for line in (base / "parallel_schedule").read_text().splitlines():
        if line.startswith("test:"):
            groups.append(line.split(":", 1)[1].split())
    return groups


def build(cluster, dbname: str, jobs: int = 2) -> Path:
    """Create `dbname` on `cluster` and run the whole schedule in it; returns the unpacked folder."""
    base = unpack()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}" TEMPLATE template0')
        for name, value in DATABASE_SETTINGS.items():
            conn.execute(f"ALTER DATABASE \"{dbname}\" SET {name} TO '{value}'")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
        **ENV,
        "PG_ABS_SRCDIR": str(base),
        "PG_ABS_BUILDDIR": str(base),
        "PG_LIBDIR": str(base / "lib"),
    }
    url = cluster.url(dbname)

    def run(test: str) -> None:
        subprocess.run(
            ["psql", "-X", "-a", "-q", "-d", url, "-f", str(base / "sql" / f"{test}.sql")],
            env={**env, "PGAPPNAME": f"pg_regress/{test}"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=600,
        )

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for group in schedule(base):
            list(pool.map(run, group))  # a group runs together, as pg_regress runs it
    return base


def copy_roles(source_url: str, target_url: str) -> None:
    """The source cluster's roles on the target cluster (what an operator does before migrating)."""
    dump = subprocess.run(["pg_dumpall", "--roles-only", "--no-role-passwords", "-d", source_url],
                          capture_output=True, text=True, check=True).stdout
    subprocess.run(["psql", "-X", "-q", "-d", target_url], input=dump, capture_output=True, text=True,
                   check=False)


def cleanup(base: Path) -> None:
    shutil.rmtree(base, ignore_errors=True)
