"""migrate-cloud: move the billing data between clouds (PostgreSQL and Redis), verified.

PostgreSQL: postgres_conn (URLs, sessions, libpq environment), postgres_inspect (what is there),
postgres_schema (pre-/post-data through pg_dump/pg_restore), postgres_copy (binary COPY pipes under one
snapshot), postgres_verify (row checksums, sequences, large objects), postgres_migrate (the phases in order,
journaled). Redis lives in redis_copy / redis_verify.
"""
