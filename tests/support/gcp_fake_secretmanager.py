"""Secret Manager v1 on GcpFake: secrets, versions (base64 payloads with CRC32C), latest:access, list.

State: fake.state["secretmanager"] = {"projects/P/secrets/S": {"secret": {...}, "versions": [{...}, ...]}}.
Version payloads are stored as bytes under "_data" (not part of the wire resource).
"""

from __future__ import annotations

import base64
import time
from typing import Any

import google_crc32c

from tests.support.gcp_fake import GcpFake, Request, error

SECRET = r"/v1/(?P<secret>projects/[^/]+/secrets/[^/:]+)"


def install(fake: GcpFake) -> None:
    fake.state.setdefault("secretmanager", {})
    fake.route("POST", r"/v1/(?P<parent>projects/[^/]+)/secrets", _create)
    fake.route("GET", SECRET, _get)
    fake.route("POST", SECRET + ":addVersion", _add_version)
    fake.route("GET", SECRET + r"/versions", _list_versions)
    fake.route("GET", SECRET + r"/versions/(?P<version>[^/:]+)", _get_version)
    fake.route("GET", SECRET + r"/versions/(?P<version>[^/:]+):access", _access)


def create_secret(fake: GcpFake, name: str) -> None:
    """Test helper: what terraform would have created."""
    with fake.lock:
        fake.state.setdefault("secretmanager", {})[name] = {
            "secret": {"name": name, "replication": {"automatic": {}}, "createTime": _now()},
            "versions": [],
        }


def payloads(fake: GcpFake, name: str) -> list[bytes]:
    return [v["_data"] for v in fake.state["secretmanager"][name]["versions"]]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def _secrets(fake: GcpFake) -> dict[str, Any]:
    return fake.state["secretmanager"]


def _create(fake: GcpFake, request: Request, parent: str) -> tuple[int, Any]:
    secret_id = request.param("secretId")
    if not secret_id:
        return error(400, "secretId is required", "INVALID_ARGUMENT")
    name = f"{parent}/secrets/{secret_id}"
    if name in _secrets(fake):
        return error(409, f"Secret [{name}] already exists.", "ALREADY_EXISTS")
    create_secret(fake, name)
    return 200, _secrets(fake)[name]["secret"]


def _get(fake: GcpFake, request: Request, secret: str) -> tuple[int, Any]:
    entry = _secrets(fake).get(secret)
    if entry is None:
        return error(404, f"Secret [{secret}] not found.", "NOT_FOUND")
    return 200, entry["secret"]


def _add_version(fake: GcpFake, request: Request, secret: str) -> tuple[int, Any]:
    entry = _secrets(fake).get(secret)
    if entry is None:
        return error(404, f"Secret [{secret}] not found or has no versions.", "NOT_FOUND")
    payload = (request.body or {}).get("payload") or {}
    data = base64.b64decode(payload.get("data", ""))
    crc = payload.get("dataCrc32c")
    if crc is not None and int(crc) != google_crc32c.value(data):
        return error(400, "Checksum mismatch: dataCrc32c does not match the payload.", "INVALID_ARGUMENT")
    number = len(entry["versions"]) + 1
    version = {"name": f"{secret}/versions/{number}", "createTime": _now(), "state": "ENABLED", "_data": data}
    entry["versions"].append(version)
    return 200, _public(version)


def _find_version(fake: GcpFake, secret: str, version: str) -> dict[str, Any] | None:
    entry = _secrets(fake).get(secret)
    if entry is None:
        return None
    enabled = [v for v in entry["versions"] if v["state"] == "ENABLED"]
    if version == "latest":
        return enabled[-1] if enabled else None
    return next((v for v in entry["versions"] if v["name"].endswith(f"/versions/{version}")), None)


def _get_version(fake: GcpFake, request: Request, secret: str, version: str) -> tuple[int, Any]:
    found = _find_version(fake, secret, version)
    if found is None:
        return error(404, f"Secret Version [{secret}/versions/{version}] not found.", "NOT_FOUND")
    return 200, _public(found)


def _access(fake: GcpFake, request: Request, secret: str, version: str) -> tuple[int, Any]:
    found = _find_version(fake, secret, version)
    if found is None:
        return error(404, f"Secret Version [{secret}/versions/{version}] not found.", "NOT_FOUND")
    data = found["_data"]
    return 200, {
        "name": found["name"],
        "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(google_crc32c.value(data))},
    }


def _list_versions(fake: GcpFake, request: Request, secret: str) -> tuple[int, Any]:
    entry = _secrets(fake).get(secret)
    if entry is None:
        return error(404, f"Secret [{secret}] not found.", "NOT_FOUND")
    versions = [_public(v) for v in reversed(entry["versions"])]
    return 200, {"versions": versions, "totalSize": len(versions)}


def _public(version: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in version.items() if not k.startswith("_")}
