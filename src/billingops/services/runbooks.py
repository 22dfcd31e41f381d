"""Runbooks: Markdown files with a small machine-readable structure that `runbook run` can walk.

The format (every runbook in runbooks/ follows it):

    ---
    name: database-down                  # the file name without .md
    title: Database down
    alerts: Database down; Failed health checks   # seed alerts this runbook answers, `;`-separated
    severity: critical                   # critical | warning | info | routine
    ---
    # Database down
    ## When to use / ## Impact / ...      free text, shown as is
    ## Step 1: Check what is down         an executable step: its text, then its commands
    ```billingops                         one billingops command per line; `$ENV` / `$CLOUD` are filled in
    billingops status --env $ENV          from `runbook run --env/--cloud`, `<NAME>` from `--var NAME=value`
    ```
    ```billingops cloud=aws               a block that applies to one cloud only
    ```
    ## Verify / ## Roll back / ## Who to tell

Only ```billingops blocks are ever executed, and only as `python -m billingops ARGS` argv lists;
```bash (aws/gcloud) blocks are shown for the engineer to run by hand.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from billingops.config import tunables
from billingops.errors import ConfigError, UsageError
from billingops.resources import bundled_path

log = logging.getLogger(__name__)

_STEP = re.compile(r"^##\s+Step\s+(\d+)\s*[:.\-–—]?\s*(.*)$", re.IGNORECASE)
_HEADING2 = re.compile(r"^##\s+(.*?)\s*$")
_FENCE = re.compile(r"^(```+|~~~+)\s*(.*)$")
_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)>")
ROLLBACK_HEADINGS = ("roll back", "rollback", "roll-back")


@dataclass(frozen=True)
class Command:
    """One billingops command line from a runbook."""

    line: str
    cloud: str | None = None  # None: both clouds

    def argv(self, env: str, cloud: str, variables: dict[str, str] | None = None) -> list[str]:
        """The arguments after `billingops`, $ENV/$CLOUD/<VAR> filled in; UsageError if one is missing."""
        # Split the runbook's own line first, then fill each word: a value is always exactly one argument,
        # whatever spaces or quotes it holds (no option or command can be smuggled in through --var).
        words = shlex.split(self.line)
        values = variables or {}
        missing = [name for word in words for name in _PLACEHOLDER.findall(word) if name not in values]
        if missing:
            raise UsageError(
                f"The runbook command `{self.line}` needs a value for {', '.join(sorted(set(missing)))}.",
                hint="Pass "
                + " ".join(f"--var {m}=VALUE" for m in sorted(set(missing)))
                + " to runbook run.",
            )
        words = [_PLACEHOLDER.sub(lambda m: values[m.group(1)], _fill(word, env, cloud)) for word in words]
        if not words or words[0] != "billingops":
            raise ConfigError(
                f"The runbook command `{self.line}` does not start with `billingops`.",
                hint="Fix the runbook: only billingops commands go in ```billingops blocks.",
            )
        return words[1:]

    def placeholders(self) -> list[str]:
        return sorted(set(_PLACEHOLDER.findall(self.line)))


def _fill(word: str, env: str, cloud: str) -> str:
    word = word.replace("${ENV}", env).replace("$ENV", env)
    return word.replace("${CLOUD}", cloud).replace("$CLOUD", cloud)


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    text: str
    commands: tuple[Command, ...]

    def commands_for(self, cloud: str) -> list[Command]:
        return [c for c in self.commands if c.cloud in (None, cloud)]


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    alerts: tuple[str, ...]
    severity: str
    path: Path
    body: str
    sections: dict[str, str] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()

    @property
    def rollback(self) -> str:
        for heading, text in self.sections.items():
            if heading.lower() in ROLLBACK_HEADINGS:
                return text
        return ""

    def all_commands(self) -> list[Command]:
        """Every billingops command in the runbook, in steps or elsewhere (verify, roll back)."""
        return list(_commands(self.body))


def runbooks_dir() -> Path:
    """The shipped runbooks, or a team's own folder from BILLINGOPS_RUNBOOKS_DIR."""
    override = tunables().runbooks_dir
    return Path(override).expanduser() if override else bundled_path("runbooks")


def load_all(folder: Path | None = None) -> list[Runbook]:
    folder = folder or runbooks_dir()
    if not folder.is_dir():
        raise ConfigError(
            f"The runbooks folder {folder} does not exist.",
            hint="Reinstall billingops; the runbooks ship inside the package.",
        )
    books = [parse(path) for path in sorted(folder.glob("*.md")) if path.name.lower() != "readme.md"]
    return books


def find(name: str, folder: Path | None = None) -> Runbook:
    books = load_all(folder)
    wanted = name.removesuffix(".md").lower()
    for book in books:
        if book.name.lower() == wanted:
            return book
    close = [b.name for b in books if wanted in b.name or b.name in wanted]
    raise UsageError(
        f"No runbook named {name!r}" + (f"; did you mean {', '.join(close)}?" if close else "."),
        hint="Run `billingops runbook list` to see the runbooks and the alerts they answer.",
    )


def parse(path: Path) -> Runbook:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read runbook {path}: {exc.strerror}.", hint="Check the file.") from None
    meta, body = _front_matter(text, path)
    sections = _sections(body)
    steps = []
    for heading, section in sections.items():
        match = _STEP.match("## " + heading)
        if match:
            steps.append(
                Step(
                    int(match.group(1)),
                    match.group(2).strip(),
                    _strip_code(section),
                    tuple(_commands(section)),
                )
            )
    name = meta.get("name") or path.stem
    if name != path.stem:
        raise ConfigError(
            f"Runbook {path} declares name {name!r} but the file is {path.stem}.md.",
            hint="Make the front matter's name match the file name.",
        )
    alerts = tuple(a.strip() for a in meta.get("alerts", "").split(";") if a.strip())
    return Runbook(
        name=name,
        title=meta.get("title", name),
        alerts=alerts,
        severity=meta.get("severity", ""),
        path=path,
        body=body,
        sections=sections,
        steps=tuple(sorted(steps, key=lambda s: s.number)),
    )


def _front_matter(text: str, path: Path) -> tuple[dict[str, str], str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ConfigError(
            f"Runbook {path} has no front matter (a `---` block with name, title, alerts).",
            hint="Start the file with ---, `name: ...`, `title: ...`, `alerts: ...`, ---.",
        )
    meta: dict[str, str] = {}
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, "\n".join(lines[index + 1 :]).lstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ConfigError(
                f"Runbook {path} line {index + 1}: {line!r} is not `key: value`.",
                hint="Fix the front matter.",
            )
        meta[key.strip().lower()] = value.strip()
    raise ConfigError(f"Runbook {path}: the front matter is not closed by a `---` line.", hint="Add it.")


def _sections(body: str) -> dict[str, str]:
    """Level-2 headings → their text (fenced code is not searched for headings)."""
    sections: dict[str, str] = {}
    current: str | None = None
    buffer: list[str] = []
    fence: str | None = None
    for line in body.splitlines():
        fence_match = _FENCE.match(line.strip())
        if fence_match:
            marker = fence_match.group(1)
            fence = None if fence and marker.startswith(fence) else (fence or marker)
        if fence is None and not fence_match:
            heading = _HEADING2.match(line)
            if heading and not line.startswith("###"):
                if current is not None:
                    sections[current] = "\n".join(buffer).strip()
                current, buffer = heading.group(1), []
                continue
        buffer.append(line)
    if current is not None:
        sections[current] = "\n".join(buffer).strip()
    return sections


def _commands(text: str) -> Iterator[Command]:
    """Yield the Command of every line in ```billingops fenced blocks of `text`."""
    inside: str | None = None
    cloud: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        fence = _FENCE.match(line)
        if fence and inside is None:
            info = fence.group(2).split()
            if info and info[0] == "billingops":
                inside = fence.group(1)
                opts = dict(part.split("=", 1) for part in info[1:] if "=" in part)
                cloud = opts.get("cloud")
            else:
                inside = "other:" + fence.group(1)
            continue
        if fence and inside is not None and fence.group(1).startswith(inside.removeprefix("other:")):
            inside, cloud = None, None
            continue
        if inside and not inside.startswith("other:") and line and not line.startswith("#"):
            yield Command(line=line, cloud=cloud)


def _strip_code(section: str) -> str:
    """The step's prose without its ```billingops blocks (the commands are shown separately)."""
    out: list[str] = []
    skipping = False
    for line in section.splitlines():
        fence = _FENCE.match(line.strip())
        if fence and not skipping and fence.group(2).split()[:1] == ["billingops"]:
            skipping = True
            continue
        if fence and skipping:
            skipping = False
            continue
        if not skipping:
            out.append(line)
    return "\n".join(out).strip()
