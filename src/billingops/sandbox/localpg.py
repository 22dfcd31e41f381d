"""A throwaway local PostgreSQL cluster (initdb + pg_ctl) for the sandbox's database migrations.

Debian keeps the server binaries in /usr/lib/postgresql/<major>/bin, off PATH. PostgreSQL refuses to
run as root, so as root the binaries run as the `postgres` user through runuser.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from billingops import process
from billingops.config import tunables
from billingops.errors import ToolMissing


def server_bindir() -> Path:
    env = tunables().pg_bindir
    if env:
        return Path(env)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ToolMissing(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found.",
        hint="Install them (Debian/Ubuntu: apt-get install -y postgresql-15) or set BILLINGOPS_PG_BINDIR.",
    )


def _as_postgres() -> list[str]:
    if os.geteuid() != 0:
        return []
    return [process.which("runuser", hint="Install util-linux (runuser) to start PostgreSQL as root."),
            "-u", "postgres", "--"]


@dataclass
class LocalPostgres:
    """On 127.0.0.1 only, with scram-sha-256 password authentication (TCP and the socket alike): another
    local user or process cannot connect without the sandbox's password, which the sandbox keeps 0600 in its
    0700 state folder (never in its state file, never printed)."""

    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def create(cls, base: Path, port: int, password: str) -> LocalPostgres:
        """initdb with `password` for the superuser `postgres`, handed over in a 0600 file deleted at once."""
        bindir = server_bindir()
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        prefix = _as_postgres()
        if prefix:
            shutil.chown(base, "postgres")
        datadir = base / "data"
        pwfile = base / "initdb.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(password + "\n")
            if prefix:
                shutil.chown(pwfile, "postgres")
            process.run([*prefix, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres",
                         "-A", "scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"], timeout=120)
        finally:
            pwfile.unlink(missing_ok=True)
        with open(datadir / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write(f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{base}'\n"
                     "fsync = off\nmax_connections = 30\n")
        return cls(datadir, port)

    def start(self) -> None:
        process.run([*_as_postgres(), str(server_bindir() / "pg_ctl"), "-D", str(self.datadir), "-l",
                     str(self.datadir.parent / "postgres.log"), "-w", "-t", "60", "start"], timeout=90)

    def stop(self) -> None:
        process.run([*_as_postgres(), str(server_bindir() / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w",
                     "stop"], timeout=60, check=False)

    def running(self) -> bool:
        result = process.run([*_as_postgres(), str(server_bindir() / "pg_ctl"), "-D", str(self.datadir), "status"],
                             timeout=30, check=False)
        return result.returncode == 0
