"""Keep secret values out of every output: screen, logs, journal, audit log, error messages.

Two mechanisms: known secret values registered at run time (seeded secrets, passwords read from URLs or
the secret store) are replaced wherever they appear; and credentials embedded in URLs, key=value pairs
and well-known environment variables are masked by pattern even when nobody registered them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words and digits

_lock = threading.Lock()
_known: set[str] = set()

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")
# key=value pairs (argv, query strings, env dumps) and "password: value" in prose. "secrets: running"
# is an ordinary log line, so a colon only counts after password-like words.
_SENSITIVE_ARG = re.compile(
    r"(?i)(?P<key>\b[a-z0-9_-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|credentials?)"
    r"[a-z0-9_-]*\s*=\s*|\b(?:password|passwd|pwd)\s*:\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s&,;]+)"
)
_SENSITIVE_KEY = re.compile(r"(?i)^(password|passwd|token|auth_token|secret_value|secret_string|"
                            r"aws_secret_access_key|secret_access_key|session_token)$")
SENSITIVE_ENV = re.compile(r"(?i)(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|ACCESS_KEY|CREDENTIAL|SESSION)")


def register(*values: str | None) -> None:
    """Remember secret values so that every later output masks them."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LEN:
                _known.add(value)


def register_url(url: str | None) -> None:
    """Register the password embedded in a connection URL."""
    if not url:
        return
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    register(password)


def forget_all() -> None:
    with _lock:
        _known.clear()


def redact_url(url: str) -> str:
    """postgresql://user:pw@host/db -> postgresql://user:***@host/db; keeps the URL readable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.password is None:
        return redact(url)
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return redact(urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{netloc}")))


def redact(text: str) -> str:
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _SENSITIVE_ARG.sub(lambda m: f"{m['key']}{MASK}", text)


def redact_argv(argv: Iterable[str]) -> list[str]:
    return [redact(arg) for arg in argv]


def redact_data(value: Any) -> Any:
    """Redact every string inside plain data (dicts, lists) before it is written anywhere."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _SENSITIVE_KEY.match(k) and isinstance(v, str) and v
                    else redact_data(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value
