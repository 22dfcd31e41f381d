"""A non-empty migrate-cloud target: refused unless --replace-target is given and confirmed, then emptied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billingops.errors import ExternalError, Refused

if TYPE_CHECKING:
    from billingops.session import Session


def consent(session: Session, base: dict[str, Any], pg: Any, redis: Any, replace: bool, found: Any) -> None:
    """Refuse a non-empty target unless --replace-target is given and confirmed; then empty it."""
    busy = []
    if pg is not None and pg.target_objects:
        busy.append(f"the target database {found.target_pg.shown} holds {', '.join(pg.target_objects[:5])}")
    if redis is not None and redis.target.total_keys:
        keys = redis.target.total_keys
        busy.append(f"the target Redis {found.target_redis.shown} holds {keys} key{'s' if keys != 1 else ''}")
    if not busy:
        return
    if not replace:
        raise Refused(
            f"Refusing to migrate into a non-empty target: {'; '.join(busy)}.",
            hint="Check you picked the right target; pass --replace-target to overwrite it "
            "(everything in it is dropped).",
        )
    question = f"Overwrite the {base['target']} {base['env']} data ({'; '.join(busy)})?"
    if not session.yes and not session.ui.confirm_typed(question, base["env"], flag="--yes"):
        raise Refused(
            "The target was not overwritten: the confirmation did not match.",
            hint=f"Type the environment name ({base['env']}) exactly, or pass --yes.",
        )
    if pg is not None and pg.target_objects:
        from billingops.transfer.postgres import schema as postgres_schema
        with found.target_pg.connect() as conn:
            postgres_schema.wipe_target(conn)
    if redis is not None and redis.target.total_keys:
        _flush_redis(found.target_redis, [db for db, keys in redis.target.dbs.items() if keys])
        redis.target.dbs = {}


def _flush_redis(endpoint: Any, dbs: list[int]) -> None:
    """Empty the target's databases (confirmed --replace-target): keys the source lacks would fail
    verification."""
    from billingops.transfer.redis.resp import RespConnection, is_error

    for db in dbs:
        with RespConnection(endpoint.url, db=db, ca_file=endpoint.ca_file, timeout=120.0) as conn:
            reply = conn.call(b"FLUSHDB")
        if is_error(reply):
            raise ExternalError(
                f"Could not empty db {db} of the target Redis {endpoint.shown}: {reply}.",
                hint="Empty it by hand (FLUSHDB must be allowed for this user), then rerun.",
            )
