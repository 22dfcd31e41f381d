#!/usr/bin/env python3
"""Benchmark: billingops migrate-cloud (PostgreSQL) against `pgcopydb clone` and `pg_dump | psql` on four shapes
of billing data, each run interleaved in the same process, best of --rounds.

  a  dominant  one table with ~70% of 5.5 M rows, four secondary indexes, foreign keys out (to two tables) and in
  b  many      530 small tables (~42 MB at scale 1, like the PostgreSQL regression database), keys, FKs, views
  c  awkward   ~250 MB: a partitioned table (13 partitions), a materialized view, large objects
  d  mixed     bench/migrate_postgres.py's data set (~1.5 GB, ~10 M rows at scale 1)

    python bench/pg_shapes.py --scale 0.05 --rounds 1          # a quick look (a few minutes on 2 cores)
    python bench/pg_shapes.py --shapes a,b --check              # exit 1 when a goal of issue 17 is missed

--scale shrinks the rows (b keeps its 530 tables: the count is the shape). Goals (issue 17): billingops with
--verify counts <= 0.85x the best of pgcopydb clone and pg_dump | psql; with --verify full <= 0.90x pg_dump | psql.
pgcopydb (apt-get install pgcopydb) is skipped with a message when it is not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import migrate_cli  # noqa: E402

from bench import harness  # noqa: E402  # after the sys.path change, on purpose
from bench import migrate_postgres as mixed  # noqa: E402

OURS, OURS_FULL = "billingops (verify counts)", "billingops (verify full)"
PGCOPYDB, DUMP = "pgcopydb clone", "pg_dump | psql"

DOMINANT = """
CREATE SCHEMA ledger;
CREATE TABLE ledger.accounts (id bigint PRIMARY KEY, name text NOT NULL, currency char(3) NOT NULL,
    opened_at timestamptz NOT NULL);
CREATE TABLE ledger.orders (id bigint PRIMARY KEY, account_id bigint NOT NULL, total numeric(14,2),
    placed_at timestamptz NOT NULL, note text);
CREATE TABLE ledger.entries (id bigint PRIMARY KEY, account_id bigint NOT NULL, order_id bigint,
    amount numeric(14,4) NOT NULL, posted_at timestamptz NOT NULL, kind text NOT NULL, memo text);
CREATE TABLE ledger.disputes (id bigint PRIMARY KEY, entry_id bigint NOT NULL, opened_at timestamptz,
    reason text);
INSERT INTO ledger.accounts SELECT g, 'account ' || g, (ARRAY['EUR','USD','JPY'])[1 + g % 3],
    now() - g * interval '1 hour' FROM generate_series(1, {accounts}) g;
INSERT INTO ledger.orders SELECT g, 1 + g % {accounts}, (g % 9973) * 1.1, now() - g * interval '1 minute',
    'order ' || md5(g::text) FROM generate_series(1, {orders}) g;
INSERT INTO ledger.entries SELECT g, 1 + g % {accounts}, NULLIF(g % ({orders} + 1), 0), (g % 100003) * 0.01,
    now() - g * interval '3 seconds', (ARRAY['charge','refund','fee','credit'])[1 + g % 4],
    substr(md5(g::text), 1, 16) FROM generate_series(1, {entries}) g;
INSERT INTO ledger.disputes SELECT g, 1 + (g * 7) % {entries}, now() - g * interval '5 minutes',
    'reason ' || g % 17 FROM generate_series(1, {disputes}) g;
CREATE INDEX entries_account_idx ON ledger.entries (account_id);
CREATE INDEX entries_order_idx ON ledger.entries (order_id);
CREATE INDEX entries_posted_idx ON ledger.entries (posted_at);
CREATE INDEX entries_kind_posted_idx ON ledger.entries (kind, posted_at);
CREATE INDEX orders_account_idx ON ledger.orders (account_id);
ALTER TABLE ledger.orders ADD FOREIGN KEY (account_id) REFERENCES ledger.accounts (id);
ALTER TABLE ledger.entries ADD FOREIGN KEY (account_id) REFERENCES ledger.accounts (id);
ALTER TABLE ledger.entries ADD FOREIGN KEY (order_id) REFERENCES ledger.orders (id);
ALTER TABLE ledger.disputes ADD FOREIGN KEY (entry_id) REFERENCES ledger.entries (id);
VACUUM ANALYZE;
"""

# 530 tables in 5 schemas, 150-1050 rows each; every tenth table heads a group the next nine reference.
MANY = """
CREATE SCHEMA s0; CREATE SCHEMA s1; CREATE SCHEMA s2; CREATE SCHEMA s3; CREATE SCHEMA s4;
DO $$
DECLARE i int; head int; n int;
BEGIN
  FOR i IN 1..530 LOOP
    head := i - (i - 1) % 10;
    n := greatest(5, ((i % 7 + 1) * 150 * {scale})::int);
    EXECUTE format('CREATE TABLE s%s.t%s (id serial PRIMARY KEY, parent_id int, code text NOT NULL, '
      'amount numeric(10,2), at timestamptz, flags int[], doc jsonb, note varchar(40))', i % 5, i);
    EXECUTE format('INSERT INTO s%s.t%s (parent_id, code, amount, at, flags, doc, note) SELECT '
      'NULLIF(g %% 5, 0), ''c'' || g, g * 1.5, now() - g * interval ''1 hour'', ARRAY[g %% 3, g %% 7], '
      'jsonb_build_object(''k'', g, ''t'', %s), md5(g::text) FROM generate_series(1, %s) g', i % 5, i, i, n);
    IF i % 3 = 0 THEN
      EXECUTE format('CREATE INDEX ON s%s.t%s (code)', i % 5, i);
    END IF;
    IF i <> head THEN
      EXECUTE format('ALTER TABLE s%s.t%s ADD FOREIGN KEY (parent_id) REFERENCES s%s.t%s (id)',
        i % 5, i, head % 5, head);
    END IF;
    IF i % 20 = 0 THEN
      EXECUTE format('CREATE VIEW s%s.v%s AS SELECT code, amount FROM s%s.t%s WHERE amount > 10', i % 5, i,
        i % 5, i);
    END IF;
  END LOOP;
END $$;
VACUUM ANALYZE;
"""

AWKWARD = """
CREATE SCHEMA metering;
CREATE TABLE metering.accounts (id int PRIMARY KEY, name text NOT NULL, plan text NOT NULL);
CREATE TABLE metering.usage (account_id int NOT NULL REFERENCES metering.accounts (id), metric text NOT NULL,
    at timestamptz NOT NULL, qty numeric(14,4) NOT NULL, attrs jsonb) PARTITION BY RANGE (at);
DO $$
DECLARE m int;
BEGIN
  FOR m IN 0..11 LOOP
    EXECUTE format('CREATE TABLE metering.usage_m%s PARTITION OF metering.usage FOR VALUES FROM (%L) TO (%L)',
      m, date '2026-01-01' + make_interval(months => m), date '2026-01-01' + make_interval(months => m + 1));
  END LOOP;
END $$;
CREATE TABLE metering.usage_other PARTITION OF metering.usage DEFAULT;
CREATE INDEX usage_account_at_idx ON metering.usage (account_id, at);
CREATE TABLE metering.invoice_pdfs (invoice_id int PRIMARY KEY, pdf oid NOT NULL);
INSERT INTO metering.accounts SELECT g, 'acct ' || g, (ARRAY['free','pro','team'])[1 + g % 3]
    FROM generate_series(1, {accounts}) g;
INSERT INTO metering.usage SELECT 1 + g % {accounts}, (ARRAY['api_calls','storage_gb','seats'])[1 + g % 3],
    timestamptz '2026-01-01' + (g % 400) * interval '1 day' + (g % 86400) * interval '1 second', (g % 1000) * 0.25,
    jsonb_build_object('region', (ARRAY['eu','us'])[1 + g % 2], 'sku', g % 50) FROM generate_series(1, {usage}) g;
INSERT INTO metering.invoice_pdfs SELECT g, lo_from_bytea(0, decode(repeat(md5(g::text), 16384), 'hex'))
    FROM generate_series(1, {blobs}) g;
CREATE MATERIALIZED VIEW metering.monthly AS SELECT account_id, date_trunc('month', at) AS month, metric,
    sum(qty) AS qty FROM metering.usage GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX monthly_key ON metering.monthly (account_id, month, metric);
VACUUM ANALYZE;
"""


def _load_sql(url: str, sql: str) -> None:
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url], input=sql, text=True, check=True,
                   stdout=subprocess.DEVNULL)


def load_dominant(url: str, scale: float) -> None:
    n = lambda base: max(20, int(base * scale))  # noqa: E731
    _load_sql(url, DOMINANT.format(accounts=n(300_000), orders=n(900_000), entries=n(3_850_000),
                                   disputes=n(450_000)))


def load_many(url: str, scale: float) -> None:
    _load_sql(url, MANY.format(scale=scale))


def load_awkward(url: str, scale: float) -> None:
    _load_sql(url, AWKWARD.format(accounts=max(20, int(20_000 * scale)), usage=max(100, int(1_200_000 * scale)),
                                  blobs=max(3, int(150 * scale))))


def load_mixed(url: str, scale: float) -> None:
    mixed.load(url, scale)


SHAPES: dict[str, tuple[str, Callable[[str, float], None]]] = {
    "a": ("(a) one dominant table", load_dominant),
    "b": ("(b) many small tables", load_many),
    "c": ("(c) small awkward database", load_awkward),
    "d": ("(d) mixed set", load_mixed),
}


class Competitors:
    """The tools of one shape, each writing into its own freshly created target database."""

    def __init__(self, source_url: str, target, work: Path, jobs: int) -> None:
        self.source_url, self.target, self.work, self.jobs = source_url, target, work, jobs
        self.env = {**os.environ, "CI": "true", "NO_COLOR": "1"}
        self.urls: dict[str, str] = {}
        self.last_phases: dict[str, str] = {}

    def fresh(self, db: str) -> Callable[[], None]:
        def prepare() -> None:
            for old in list(self.urls):
                _drop(self.target, old)
                del self.urls[old]
            self.urls[db] = self.target.createdb(db)
            shutil.rmtree(self.work / db, ignore_errors=True)
            (self.work / db).mkdir(parents=True)

        return prepare

    def entries(self, skip: set[str]) -> list[harness.Entry]:
        found = []
        if PGCOPYDB not in skip:
            if shutil.which("pgcopydb"):
                found.append(harness.Entry(PGCOPYDB, self.pgcopydb, self.fresh("t_pgcopydb")))
            else:
                print("pgcopydb not installed (apt-get install pgcopydb): its column is skipped", flush=True)
        if DUMP not in skip:
            found.append(harness.Entry(DUMP, self.dump, self.fresh("t_dump")))
        for name, mode in ((OURS, "counts"), (OURS_FULL, "full")):
            if name not in skip:
                found.append(harness.Entry(name, lambda mode=mode: self.billingops(mode),
                                           self.fresh(f"t_ours_{mode}"), lambda mode=mode: self.last_phases[mode]))
        return found

    def pgcopydb(self) -> None:
        subprocess.run(
            ["pgcopydb", "clone", "--source", self.source_url, "--target", self.urls["t_pgcopydb"],
             "--dir", str(self.work / "t_pgcopydb" / "run"), "--table-jobs", str(self.jobs),
             "--index-jobs", str(self.jobs), "--no-owner", "--no-acl"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def dump(self) -> None:
        mixed._pipe(self.source_url, self.urls["t_dump"])

    def billingops(self, mode: str, python: str | None = None, label: str = "") -> None:
        """One migrate-cloud run into t_<label or ours>_<mode>; `python`: another checkout's interpreter."""
        name = label or "ours"
        db = f"t_{name}_{mode}"
        argv = migrate_cli.argv(*migrate_cli.postgres(self.source_url, self.urls[db]), "--jobs", str(self.jobs),
                                "--verify", mode, "--yes")
        if python:
            argv = [python, *argv[1:]]
        out = subprocess.run(argv, cwd=self.work / db, env=self.env, capture_output=True, text=True)
        who = label or "billingops"
        if out.returncode != 0:
            raise RuntimeError(f"{who} failed ({out.returncode}): {out.stderr[-3000:]}")
        doc = json.loads(out.stdout)
        if not doc.get("ok"):
            raise RuntimeError(f"{who} reported a failed verification: {out.stdout[-3000:]}")
        phases = doc["postgres"]["seconds"]
        key = f"{label} {mode}" if label else mode
        self.last_phases[key] = "phases: " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items())


def _drop(target, db: str) -> None:
    import psycopg

    with psycopg.connect(target.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')


def describe(url: str) -> str:
    out = subprocess.run(
        ["psql", "-X", "-At", "-d", url, "-c",
         "SELECT pg_database_size(current_database()), (SELECT count(*) FROM pg_class c JOIN pg_namespace n "
         "ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog', "
         "'information_schema')), (SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables), "
         "(SELECT count(*) FROM pg_largeobject_metadata)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().split("|")
    size, tables, rows, blobs = (int(x) for x in out)
    return f"{size / 1e6:.0f} MB, {tables} tables, {rows:,} rows, {blobs} large objects"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default="a,b,c,d", help="comma list of a,b,c,d")
    parser.add_argument("--scale", type=float, default=1.0, help="row count factor (1.0 = the sizes above)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs for every tool")
    parser.add_argument("--skip", default="", help=f"comma list of competitors to leave out: {PGCOPYDB}, {DUMP}...")
    parser.add_argument("--keep", action="store_true", help="print the source URL and wait for Enter at the end "
                        "(to profile a run by hand)")
    harness.common_args(parser)
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    ok = True
    with harness.workdir("billingops-bench-shapes-") as base, harness.postgres_pair(base) as (source, target):
        for letter in args.shapes.split(","):
            title, loader = SHAPES[letter.strip()]
            db = f"shape_{letter.strip()}"
            url = source.createdb(db)
            print(f"\n### {title}: loading (scale {args.scale}) ...", flush=True)
            loader(url, args.scale)
            about = describe(url)
            print(f"    {about}", flush=True)
            tools = Competitors(url, target, base / f"work_{letter.strip()}", args.jobs)
            runs = harness.interleave(tools.entries(skip), args.rounds)
            ok &= harness.report(
                f"{title} - {about} - best of {args.rounds}, --jobs {args.jobs}",
                runs,
                [
                    harness.Goal(OURS, [PGCOPYDB, DUMP], 0.85),
                    harness.Goal(OURS_FULL, [DUMP], 0.90, label=f"{OURS_FULL} / {DUMP} (unverified)"),
                ],
                peers=[PGCOPYDB, DUMP],
            )
            if args.keep:
                input(f"source {url}, target {target.url()} - Enter to go on: ")
            _drop(source, db)
            for name in list(tools.urls):
                _drop(target, name)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
