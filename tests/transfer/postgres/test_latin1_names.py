"""A LATIN1 database whose tables, indexes and keys have non-ASCII names migrates like any other: the dump's
table of contents (`pg_restore --list`) is in the database's encoding, not UTF-8, and reading it used to end
migrate-cloud with a UnicodeDecodeError traceback."""

from __future__ import annotations

import json
import subprocess

import psycopg
import pytest

from tests.support import migrate_cli

pytestmark = pytest.mark.slow

SCHEMA = """
CREATE TABLE public."größen" (id int PRIMARY KEY, "maß" text NOT NULL);
CREATE INDEX "größen_maß_idx" ON public."größen" ("maß");
CREATE TABLE public."bestände" (id int PRIMARY KEY, "größe_id" int NOT NULL
    CONSTRAINT "bestände_größe_fk" REFERENCES public."größen" (id));
INSERT INTO public."größen" SELECT g, 'Fuß ' || g FROM generate_series(1, 500) g;
INSERT INTO public."bestände" SELECT g, 1 + g % 500 FROM generate_series(1, 2000) g;
COMMENT ON TABLE public."größen" IS 'Größe in Fuß';
"""


def _latin1_db(server, name: str) -> str:
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    return server.url(name)


def _objects(url: str) -> dict:
    with psycopg.connect(url) as conn:
        return {
            "rows": conn.execute('SELECT count(*), sum(length("maß")) FROM public."größen"').fetchone(),
            "refs": conn.execute('SELECT count(*), sum("größe_id") FROM public."bestände"').fetchone(),
            "indexes": sorted(r[0] for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'").fetchall()),
            "keys": sorted(r[0] for r in conn.execute(
                "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace").fetchall()),
            "comment": conn.execute("SELECT obj_description('public.\"größen\"'::regclass)").fetchone()[0],
        }


def test_a_latin1_database_with_non_ascii_names_migrates(source_pg, target_pg, tmp_path):
    source = _latin1_db(source_pg, "latin1_names_src")
    target = _latin1_db(target_pg, "latin1_names_dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SCHEMA)

    proc = subprocess.run(migrate_cli.argv(*migrate_cli.postgres(source, target), "--verify", "full"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["ok"] is True
    expected = _objects(source)
    assert expected["indexes"] == ["bestände_pkey", "größen_maß_idx", "größen_pkey"]
    assert _objects(target) == expected
