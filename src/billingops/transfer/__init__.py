"""migrate-cloud: move the billing data between clouds (PostgreSQL and Redis), verified.

postgres/ and redis/ are the two engines; they never import each other. Shared here: endpoints (where
the data is), plan (what a run will do, as data), progress (events for the edge to render),
interrupts (Ctrl-C handling for copy workers) and tunables (chunk sizes, parallelism).

postgres/: conn (URLs, sessions, libpq environment), inspect (what is there), schema (pre-/post-data
through pg_dump/pg_restore), copy (binary COPY pipes under one snapshot; text COPY where copyformat says
binary cannot carry a table), verify (row checksums, sequences, large objects), kinds (what is carried and
what is skipped, per object kind), migrate (the phases in order, journaled).
redis/: copy (DUMP/RESTORE workers), verify (key and value comparison), functions (function libraries and the
settings a key copy does not carry) and their helpers.
"""
