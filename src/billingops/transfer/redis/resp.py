"""A minimal RESP client for the copy's hot path: raw socket (TLS via ssl), hand-encoded commands, hiredis
replies.

Why not redis-py here: its per-command overhead (command objects, response callbacks) is what separates ~14k
keys/s from ~70k keys/s in a DUMP/RESTORE copy. This connection encodes whole pipelines as one bytes object
and parses the replies with `hiredis.Reader`; it never decodes keys or values (bytes everywhere).
"""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import unquote, urlsplit

from billingops.errors import ConfigError, ExternalError
from billingops.redact import redact_url, register_url

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0  # seconds a single read/write may block; a DUMP of a big key can take a while
_RECV_SIZE = 1 << 20

# One RESP reply as hiredis.Reader.gets() returns it: bytes, int, None, a list of replies, or an error reply as a
# hiredis.ReplyError value. Its shape depends on the command sent, which only the caller knows (hiredis types
# gets() as Any for the same reason), so callers unpack it by command; the alias names what they hold.
Reply: TypeAlias = Any


class RedisUnavailable(ExternalError):
    """A Redis server could not be reached, or refused our credentials or commands."""

    title = "redis call failed"


@dataclass(frozen=True)
class ParsedUrl:
    host: str
    port: int
    username: str | None
    password: str | None
    db: int
    tls: bool
    check_hostname: bool
    verify: bool


def parse_url(url: str) -> ParsedUrl:
    """redis[s]://[user][:password]@host[:port][/db][?ssl_cert_reqs=none&ssl_check_hostname=false]"""
    register_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port or 6379
    except ValueError as exc:
        raise ConfigError(
            f"invalid Redis URL {redact_url(url)}: {exc}",
            hint="use redis://[:password@]host:port/db or rediss:// for TLS",
        ) from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(
            f"invalid Redis URL {redact_url(url)}: expected redis:// or rediss:// with a host",
            hint="use redis://[:password@]host:port/db or rediss:// for TLS",
        )
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ConfigError(
            f"invalid Redis URL {redact_url(url)}: database {path!r} is not a number",
            hint="the path of a Redis URL is the logical database number, e.g. /0",
        )
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    verify = query.get("ssl_cert_reqs", "required").lower() not in ("none", "cert_none")
    check_hostname = verify and query.get("ssl_check_hostname", "true").lower() not in ("false", "0", "no")
    return ParsedUrl(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        db=int(path) if path else 0,
        tls=parts.scheme == "rediss",
        check_hostname=check_hostname,
        verify=verify,
    )


def encode(*args: bytes | str | int) -> bytes:
    """One command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b"%d" % arg
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def is_error(reply: object) -> bool:
    return isinstance(reply, Exception)


_PLAIN_REPLY_TYPES = frozenset({bytes, int, type(None), list})


def has_error(replies: list[Reply]) -> bool:
    """Whether any reply is an error, without a Python-level loop (the hot path checks ~2000 a batch)."""
    return not _PLAIN_REPLY_TYPES.issuperset(map(type, replies))


class RespConnection:
    """One connection to one logical database. `send` raw pipelines, then `read(n)` their n replies."""

    def __init__(
        self, url: str, *, db: int | None = None, ca_file: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        import hiredis  # the hot-path parser; imported here so the CLI stays light

        self.url = url
        self.shown = redact_url(url)
        self.target = parse_url(url)
        self.db = self.target.db if db is None else db
        self._reader = hiredis.Reader()
        self._timeout = timeout
        self._sock = self._connect(ca_file, timeout)
        try:
            self._handshake()
        except BaseException:
            self.close()
            raise

    def _connect(self, ca_file: str | None, timeout: float) -> socket.socket:
        t = self.target
        try:
            sock = socket.create_connection((t.host, t.port), timeout=min(timeout, 10.0))
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if t.tls:
                context = ssl.create_default_context(cafile=ca_file)
                context.check_hostname = t.check_hostname
                if not t.verify:
                    context.verify_mode = ssl.CERT_NONE
                sock = context.wrap_socket(sock, server_hostname=t.host)
            return sock
        except ssl.SSLError as exc:
            raise RedisUnavailable(
                f"TLS handshake with Redis at {self.shown} failed: {exc.reason or exc}",
                hint="pass the server's CA certificate (Memorystore: the instance's server CA) with the CA "
                "file "
                "option, and check that the URL uses rediss:// only for a TLS port",
            ) from None
        except OSError as exc:
            raise RedisUnavailable(
                f"cannot connect to Redis at {self.shown}: {exc.strerror or exc}",
                hint="check the host and port, that the instance is running, and that this machine can reach "
                "it "
                "(VPN, SSH tunnel or bastion for a private endpoint)",
            ) from None

    def _handshake(self) -> None:
        t = self.target
        commands = []
        if t.password is not None:
            commands.append(encode("AUTH", t.username, t.password) if t.username else encode("AUTH", t.password))
        commands.append(encode("SELECT", self.db))
        self.send(b"".join(commands))
        replies = self.read(len(commands))
        if t.password is not None and is_error(replies[0]):
            raise RedisUnavailable(
                f"Redis at {self.shown} rejected the credentials: {_first_line(replies[0])}",
                hint="check the AUTH password (and ACL user) in the URL or the secret store",
            )
        if is_error(replies[-1]):
            text = _first_line(replies[-1])
            if "NOAUTH" in text:
                raise RedisUnavailable(
                    f"Redis at {self.shown} requires a password: {text}",
                    hint="put the AUTH password in the URL: redis://:PASSWORD@host:port/db",
                )
            raise RedisUnavailable(
                f"Redis at {self.shown} refused SELECT {self.db}: {text}",
                hint="check the database number (managed Redis in cluster mode only has db 0)",
            )

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise self._io_error("sending to", exc) from None

    def read(self, count: int) -> list[Reply]:
        """The next `count` replies; errors come back as hiredis.ReplyError objects, never raised."""
        replies: list[Reply] = []
        append, gets, feed, recv = replies.append, self._reader.gets, self._reader.feed, self._sock.recv
        while len(replies) < count:
            reply = gets()
            if reply is False:
                try:
                    data = recv(_RECV_SIZE)
                except OSError as exc:
                    raise self._io_error("reading from", exc) from None
                if not data:
                    raise RedisUnavailable(
                        f"Redis at {self.shown} closed the connection",
                        hint="check the server log (maxclients, timeout, memory limit)",
                    )
                feed(data)
                continue
            append(reply)
        return replies

    def call(self, *args: bytes | str | int) -> Reply:
        """One command, one reply; a Redis error reply stays a value (check with is_error)."""
        self.send(encode(*args))
        return self.read(1)[0]

    def check(self, *args: bytes | str | int) -> Reply:
        """One command whose error reply is a failure of the operation."""
        reply = self.call(*args)
        if is_error(reply):
            name = args[0] if isinstance(args[0], str) else bytes(args[0]).decode(errors="replace")
            raise RedisUnavailable(
                f"Redis at {self.shown} failed {name.upper()}: {_first_line(reply)}",
                hint="the command may be disabled or renamed on this managed instance, or "
                "the ACL user lacks the permission",
            )
        return reply

    def _io_error(self, verb: str, exc: OSError) -> RedisUnavailable:
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return RedisUnavailable(
                f"Redis at {self.shown} did not answer within {self._timeout:.0f} s while {verb} it "
                "(the server may be frozen, overloaded or unreachable)",
                hint="check the server (its CPU, memory and log), then rerun the same command with --resume; "
                "if it is only overloaded, use fewer --jobs",
            )
        return RedisUnavailable(
            f"connection to Redis at {self.shown} failed while {verb} it: {exc}",
            hint="check that the server is still running and reachable, then use --resume",
        )

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> RespConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(reply: object) -> str:
    return str(reply).splitlines()[0] if str(reply) else type(reply).__name__


def describe_key(key: bytes, limit: int = 120) -> str:
    """A printable, bounded form of a binary key for messages and reports."""
    text = key.decode("utf-8", errors="backslashreplace")
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
