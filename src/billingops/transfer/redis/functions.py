"""What a key-by-key copy does not carry: Redis 7 functions (kept outside the keyspace) and the server
settings the application depends on.

Functions are copied whole with FUNCTION DUMP / FUNCTION RESTORE and compared library by library (engine and
code: the code defines the functions and their flags). Settings cannot be copied: managed Redis sets them
through its parameter group (ElastiCache) or redis_configs (Memorystore), which terraform owns, and blocks
CONFIG. They are compared, and a difference is shown in the plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from billingops.errors import Refused
from billingops.transfer.redis.resp import RedisUnavailable, Reply, RespConnection, is_error

log = logging.getLogger(__name__)

# Settings a key copy does not carry and the billing application depends on: eviction (a cache that evicts
# sessions or locks under memory pressure) and keyspace notifications (expiry events the workers listen to).
SETTINGS = ("maxmemory-policy", "notify-keyspace-events")

# What DUMP/RESTORE of every key does not carry, and what migrate-cloud does about each.
NOT_CARRIED = {
    "functions (FUNCTION LOAD libraries)": "copied with FUNCTION DUMP / FUNCTION RESTORE and verified",
    "server settings (maxmemory-policy, notify-keyspace-events)": "compared at preflight; set them on the "
    "target through terraform (ElastiCache parameter group / Memorystore redis_configs)",
    "ACL users and passwords": "not copied: the target's users come from terraform and the secrets",
    "Pub/Sub subscriptions and client connections": "not copied: clients reconnect and resubscribe at cutover",
    "scripts cached by SCRIPT LOAD / EVALSHA": "not copied: the script cache is per server; clients reload "
    "on NOSCRIPT",
}


@dataclass
class Library:
    name: str
    engine: str
    code: str
    functions: list[str] = field(default_factory=list)


def _pairs(reply: Any) -> dict[str, Any]:
    """A RESP2 flat [name, value, ...] list as a dict with str keys."""
    items = list(reply or [])
    return {_text(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def supported(conn: RespConnection) -> bool:
    """True when the server has functions (Redis 7.0+): FUNCTION LIST answers without an error."""
    return not is_error(conn.call(b"FUNCTION", b"LIST", b"LIBRARYNAME", b"-no-such-library-"))


def libraries(conn: RespConnection) -> dict[str, Library]:
    """{library name: Library} on this server; empty before Redis 7."""
    reply = conn.call(b"FUNCTION", b"LIST", b"WITHCODE")
    if is_error(reply):
        return {}
    found = {}
    for entry in reply or []:
        item = _pairs(entry)
        names = sorted(_text(_pairs(f).get("name", b"")) for f in item.get("functions") or [])
        lib = Library(_text(item["library_name"]), _text(item["engine"]), _text(item["library_code"]), names)
        found[lib.name] = lib
    return found


def copy(source: RespConnection, target: RespConnection, *, replace: bool) -> int:
    """Copy every function library; returns how many. A target already holding the same libraries is left
    as it is (a resumed run); one holding other code under a source library's name is refused unless
    `replace`."""
    wanted = libraries(source)
    if not wanted:
        return 0
    present = libraries(target)
    if not supported(target):
        raise RedisUnavailable(
            f"the source Redis has {len(wanted)} function libraries ({', '.join(sorted(wanted))}) and the target "
            "Redis has no functions (before 7.0)",
            hint="use a Redis 7 target (ElastiCache/Memorystore 7.x)",
        )
    if all(present.get(name) == lib for name, lib in wanted.items()):
        return len(wanted)
    clash = sorted(name for name in wanted if name in present and present[name] != wanted[name])
    if clash and not replace:
        raise Refused(
            f"the target Redis already has function libraries with other code: {', '.join(clash)}",
            hint="pass --replace-target to overwrite them, or FUNCTION DELETE them on the target first",
        )
    payload = source.check(b"FUNCTION", b"DUMP")
    reply: Reply = target.call(b"FUNCTION", b"RESTORE", payload, b"REPLACE" if replace or clash else b"APPEND")
    if is_error(reply):
        raise RedisUnavailable(
            f"FUNCTION RESTORE failed on the target Redis: {reply}",
            hint="the target user needs the +function permission (ACL), and the target must run Redis 7+",
        )
    return len(wanted)


@dataclass
class FunctionsCheck:
    """Verification of the function libraries (a line of the Redis verification next to the databases)."""

    source_libraries: int
    target_libraries: int
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": "functions",
            "ok": self.ok,
            "source_keys": self.source_libraries,
            "target_keys": self.target_libraries,
            "mismatches": self.mismatches,
            "mismatch_count": len(self.mismatches),
        }


def compare(source: RespConnection, target: RespConnection) -> FunctionsCheck | None:
    """None when neither side has a function library; else the libraries missing, extra or different."""
    mine, theirs = libraries(source), libraries(target)
    if not mine and not theirs:
        return None
    check = FunctionsCheck(len(mine), len(theirs))
    for name in sorted(mine.keys() | theirs.keys()):
        if name not in theirs:
            check.mismatches.append(f"library {name}: missing on the target")
        elif name not in mine:
            check.mismatches.append(f"library {name}: only on the target")
        elif mine[name] != theirs[name]:
            check.mismatches.append(f"library {name}: code differs")
    return check


def settings(conn: RespConnection) -> dict[str, str | None]:
    """{setting: value}; None where CONFIG GET is blocked (managed Redis) or unknown."""
    values: dict[str, str | None] = {}
    for name in SETTINGS:
        reply = conn.call(b"CONFIG", b"GET", name.encode())
        if is_error(reply) or not reply:
            values[name] = None
        else:
            values[name] = _text(_pairs(reply).get(name, b""))
    return values


def compare_rows(mine: dict[str, str | None], theirs: dict[str, str | None]) -> list[dict[str, Any]]:
    """One row per setting: both values and whether they match ("unknown" where either is unreadable)."""
    rows = []
    for name in SETTINGS:
        a, b = mine.get(name), theirs.get(name)
        same: bool | str = "unknown" if a is None or b is None else _normal(name, a) == _normal(name, b)
        rows.append({"setting": name, "source": a, "target": b, "same": same})
    return rows


def _normal(name: str, value: str) -> str:
    # notify-keyspace-events is a set of flag letters; CONFIG GET returns them in the server's own order.
    return "".join(sorted(value)) if name == "notify-keyspace-events" else value
