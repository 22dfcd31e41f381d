"""Where secret values come from: --stdin, --file (dotenv), BILLINGOPS_SECRET_<NAME>, or generation.

Never from a command-line argument value: argv is visible in `ps`, shell history and CI logs. Every value
is registered for redaction the moment it is read.
"""

from __future__ import annotations

import io
import logging
import os
import secrets as _random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from billingops import redact
from billingops.config import SECRET_ENV_PREFIX, SecretSpec
from billingops.errors import UsageError

log = logging.getLogger(__name__)

# URL-safe characters only: generated values go into URLs, env files and headers without quoting.
GENERATED_ALPHABET = string.ascii_letters + string.digits + "-_"
MIN_GENERATED_LENGTH = 16
ENV_PREFIX = SECRET_ENV_PREFIX


@dataclass(frozen=True)
class Provided:
    value: str
    origin: str  # "stdin", "file PATH", "env BILLINGOPS_SECRET_X" — never the value


def generate(length: int) -> str:
    if length < MIN_GENERATED_LENGTH:
        raise UsageError(
            f"A generated secret length of {length} is too short to be safe.",
            hint=f"Set length >= {MIN_GENERATED_LENGTH} for that secret in billingops.toml.",
        )
    value = "".join(_random.choice(GENERATED_ALPHABET) for _ in range(length))
    redact.register(value)
    return value


def parse_lines(text: str, origin: str) -> dict[str, str]:
    """NAME=VALUE lines (dotenv syntax: quotes, comments, `export`); values registered for redaction."""
    from dotenv import dotenv_values

    parsed = dotenv_values(stream=io.StringIO(text), interpolate=False)
    values: dict[str, str] = {}
    for key, value in parsed.items():
        if value is not None:
            redact.register(value)
        name = key[len(ENV_PREFIX) :] if key.startswith(ENV_PREFIX) else key
        if value is None or value == "":
            raise UsageError(
                f"{name} in {origin} has no value.",
                hint="Write NAME=VALUE, or remove the line to keep the current version.",
            )
        values[name] = value
    return values


def collect(
    specs: Sequence[SecretSpec],
    *,
    file: Path | None = None,
    stdin_text: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Provided]:
    """The values given for the declared secrets. Precedence: --stdin > --file > environment variable."""
    environ = os.environ if environ is None else environ
    declared = {s.name: s for s in specs}
    found: dict[str, Provided] = {}
    for spec in specs:
        value = environ.get(spec.env_var)
        if value:
            redact.register(value)
            found[spec.name] = Provided(value, f"env {spec.env_var}")
    layers: list[tuple[str, dict[str, str]]] = []
    if file is not None:
        layers.append((f"file {file}", parse_lines(_read_file(file), f"--file {file}")))
    if stdin_text is not None:
        layers.append(("stdin", parse_lines(stdin_text, "--stdin")))
    for origin, values in layers:
        for name, value in values.items():
            found_spec = declared.get(name)
            if found_spec is None:
                raise UsageError(
                    f"{name} (from {origin}) is not a secret declared for this environment; "
                    f"declared: {', '.join(declared)}.",
                    hint="Fix the name, or declare it under [[environments.ENV.secrets]].",
                )
            if found_spec.source == "terraform":
                raise UsageError(
                    f"{name} (from {origin}) is written by terraform; billingops does not seed it.",
                    hint="Remove it from the input; terraform keeps it in step with the resource.",
                )
            found[name] = Provided(value, origin)
    for name in found:
        if declared[name].source == "terraform":
            # from the environment: ignore quietly, a shared shell may export it for other tools
            log.debug("ignoring %s for terraform-managed secret %s", found[name].origin, name)
    return {n: p for n, p in found.items() if declared[n].source != "terraform"}


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"--file {path} does not exist.", hint="Check the path to the dotenv file."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"Cannot read --file {path}: {exc.__class__.__name__}.",
            hint="Check the file's permissions and that it is UTF-8 text.",
        ) from None
