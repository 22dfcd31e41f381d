"""Before a PostgreSQL migration moves anything: both sides read (the target read-only too), and what the
target lacks reported; a missing extension stops the run before any data moves."""

from __future__ import annotations

import concurrent.futures as cf
from dataclasses import dataclass
from typing import Any

from billingops.errors import StepFailed
from billingops.transfer.postgres import watchdog as postgres_watchdog
from billingops.transfer.postgres.conn import PgEndpoint
from billingops.transfer.postgres.inspect import (
    Inventory,
    inspect,
    missing_extensions,
    missing_roles,
    user_objects,
)


@dataclass
class PgPreflight:
    source: Inventory
    target_objects: list[str]
    missing_extensions: list[str]
    missing_roles: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target_objects": self.target_objects,
            "missing_extensions": self.missing_extensions,
            "roles_missing_on_target": self.missing_roles,
        }



def preflight(source: PgEndpoint, target: PgEndpoint) -> PgPreflight:
    """Read both sides (the target read-only too): nothing changes here. The target's connection and its
    emptiness check go on while the source is inspected: each side is a connection and a dozen catalog
    queries, round trips that add up across a distance."""
    with postgres_watchdog.watching([source, target]):
        with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="preflight-target") as pool:
            target_side = pool.submit(_read_target, target)
            try:
                with source.connect(read_only=True) as src:
                    inventory = inspect(src)
            except BaseException:
                _discard(target_side)  # the source's error is the one to report
                raise
            dst, objects = target_side.result()
            with dst:
                return PgPreflight(
                    inventory,
                    objects,
                    missing_extensions(dst, inventory.extensions),
                    missing_roles(dst, inventory.roles),
                )


def _read_target(target: PgEndpoint) -> tuple[Any, list[str]]:  # Any: a psycopg connection
    conn = target.connect(read_only=True)
    try:
        return conn, user_objects(conn)
    except BaseException:
        conn.close()
        raise


def _discard(target_side: cf.Future[tuple[Any, list[str]]]) -> None:
    try:
        conn, _ = target_side.result()
    except Exception:  # noqa: BLE001  # the source failed first: its error is reported, not this one
        return
    conn.close()


def require_extensions(checked: PgPreflight) -> None:
    if checked.missing_extensions:
        raise StepFailed(
            f"The target PostgreSQL does not offer these extensions used by the source: "
            f"{', '.join(checked.missing_extensions)}. No data was moved.",
            hint="Enable them on the target (Cloud SQL: supported extensions list / database flags; RDS: "
            "rds.extensions / shared_preload_libraries), or drop them on the source, then rerun.",
        )
