"""Migration files: `NNNN_name.sql` in the configured directory, applied in version order.

The checksum is SHA-256 of the file with line endings normalised, so a checkout on Windows does not look
like an edit; any other change to an applied file is reported as a mismatch.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from billingops.errors import ConfigError

FILENAME = re.compile(r"^(?P<version>\d{4,})_(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)\.sql$")
# billingops wraps each file in its own transaction; a COMMIT inside would end it early and break
# "a failed file leaves nothing behind". (PL/pgSQL's BEGIN has no semicolon and does not match.)
_TX_CONTROL = re.compile(r"(?im)^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION)\s*(TRANSACTION|WORK)?\s*;")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    checksum: str
    sql: str = field(repr=False)

    @property
    def label(self) -> str:
        return self.path.name


def checksum(text: str) -> str:
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def discover(folder: Path) -> list[Migration]:
    """Every migration in `folder`, ordered by version; a badly named .sql file or a duplicate is an error."""
    if not folder.is_dir():
        raise ConfigError(
            f"The migrations directory {folder} does not exist.",
            hint="Set migrations_dir for the environment in billingops.toml, or create the folder.",
        )
    found: dict[int, Migration] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix != ".sql" or not path.is_file():
            continue
        match = FILENAME.match(path.name)
        if match is None:
            raise ConfigError(
                f"Migration file {path.name} in {folder} is not named NNNN_name.sql.",
                hint="Rename it (for example 0005_add_refunds.sql) so its order is explicit.",
            )
        version = int(match["version"])
        if version in found:
            raise ConfigError(
                f"Migrations {found[version].label} and {path.name} share version {version}.",
                hint="Give the newer one the next free number.",
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"Cannot read migration {path}: {exc.__class__.__name__}.",
                hint="Check the file's permissions and that it is UTF-8.",
            ) from None
        if not text.strip():
            raise ConfigError(f"Migration {path.name} is empty.", hint="Write its SQL or delete the file.")
        if _TX_CONTROL.search(text):
            raise ConfigError(
                f"Migration {path.name} contains its own BEGIN/COMMIT.",
                hint="Remove them: billingops runs each file in one transaction of its own.",
            )
        found[version] = Migration(version, match["name"], path, checksum(text), text)
    return [found[v] for v in sorted(found)]
