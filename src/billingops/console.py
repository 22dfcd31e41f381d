"""The only place that writes to the terminal: Rich on a TTY, plain timestamped lines otherwise, JSON with --json.

With --json, stdout carries exactly one JSON document (the command's result) and everything else goes to
stderr. Every string passes through redaction before it is written.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.segment import Segment
from rich.table import Table

from billingops import redact
from billingops.errors import ApprovalRequired, BillingOpsError

log = logging.getLogger(__name__)

_LEVEL_STYLE = {"info": "", "ok": "green", "warn": "yellow", "error": "bold red", "debug": "dim"}


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def stdin_interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty() and not is_ci()
    except (ValueError, OSError):
        return False


class Output:
    """Rendering and questions for one invocation."""

    def __init__(self, *, json_mode: bool = False, color: bool = True, verbose: int = 0,
                 assume_yes: bool = False) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        self.assume_yes = assume_yes
        no_color = not color or bool(os.environ.get("NO_COLOR"))
        # Rich assumes 80 columns when not on a terminal; logs and CI output read better wider.
        width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "140"))
        # emoji=False: ":secret:" inside a Secrets Manager ARN must print as text, not as an emoji.
        # NO_COLOR removes colour only: the terminal keeps its layout (spinners, tables).
        options: dict[str, Any] = {"no_color": no_color, "highlight": False, "soft_wrap": True, "width": width,
                                   "emoji": False}
        self.err = Console(file=sys.stderr, **options)
        self.out = Console(file=sys.stdout, **options)
        self.rich = self.err.is_terminal and not is_ci()
        self.interactive = stdin_interactive()

    # -- logs (stderr) -------------------------------------------------------------------------------
    def say(self, message: str, level: str = "info") -> None:
        text = redact.redact(message)
        if level == "debug" and self.verbose < 1:
            return
        if self.rich:
            style = _LEVEL_STYLE.get(level, "")
            self.err.print(f"[{style}]{escape(text)}[/]" if style else escape(text))
        else:
            stamp = time.strftime("%H:%M:%S")
            self.err.print(f"{stamp} {level.upper():5} {escape(text)}", markup=True)

    def warn(self, message: str) -> None:
        self.say(message, "warn")

    # -- results (stdout) ----------------------------------------------------------------------------
    def result(self, data: Any, render: Callable[[Console], None] | None = None) -> None:
        """Print the command's result: one JSON document with --json, else the Rich/plain rendering."""
        plain = to_plain(data)
        if self.json_mode:
            sys.stdout.write(json.dumps(redact.redact_data(plain), indent=2, sort_keys=False, default=str) + "\n")
            sys.stdout.flush()
            return
        if render is not None:
            render(self.out)
        else:
            self.out.print(escape(redact.redact(json.dumps(plain, indent=2, default=str))))

    def table(self, title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              styles: Sequence[str | None] | None = None) -> Table | PlainRows:
        """A Rich table on a terminal; plain tab-separated rows, header first, when stdout is a pipe or a file
        (for grep and awk), with the title on stderr."""
        if not self.out.is_terminal:
            if title:
                self.say(title)
            return PlainRows(columns, [[redact.redact(_cell(c)) for c in row] for row in rows])
        table = Table(title=title, show_lines=False, title_justify="left")
        for index, column in enumerate(columns):
            # The first column names the thing (step, runbook, resource): it never wraps.
            table.add_column(column, overflow="fold", no_wrap=index == 0)
        for index, row in enumerate(rows):
            style = styles[index] if styles is not None else None
            table.add_row(*(escape(redact.redact(_cell(c))) for c in row), style=style)
        return table

    def error(self, err: BillingOpsError) -> None:
        text = redact.redact(err.paragraph())
        if self.rich:
            self.err.print(f"[bold red]error:[/] [bold]{escape(err.title)}[/]")
            self.err.print(escape(text))
        else:
            self.err.print(f"error: {escape(err.title)}: {escape(text)}")

    # -- questions -----------------------------------------------------------------------------------
    def confirm(self, question: str, *, flag: str = "--yes") -> bool:
        """Ask yes/no. --yes answers yes; with no TTY (or CI=true) it fails naming the flag."""
        if self.assume_yes:
            return True
        self.require_interactive(question, flag)
        self.err.print(f"{escape(question)} [y/N] ", end="")
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes")

    def confirm_typed(self, question: str, expected: str, *, flag: str) -> bool:
        """Ask the engineer to type `expected` (an env name, a lock id) to go on."""
        self.require_interactive(question, flag)
        self.err.print(f"{escape(question)}\nType [bold]{escape(expected)}[/] to continue: ", end="")
        return sys.stdin.readline().strip() == expected

    def require_interactive(self, question: str, flag: str) -> None:
        if not self.interactive:
            raise ApprovalRequired(
                f"This needs an answer ({question.rstrip('?')}) and there is no terminal to ask "
                f"(stdin is not a TTY or CI=true), so billingops will not wait for input.",
                hint=f"Pass {flag} to answer it on the command line.",
            )

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        if self.rich and not self.json_mode:
            with self.err.status(escape(redact.redact(message))):
                yield
        else:
            self.say(message)
            yield


def to_plain(data: Any) -> Any:
    """Dataclasses, tuples, paths -> JSON-ready data."""
    if is_dataclass(data) and not isinstance(data, type):
        return to_plain(asdict(data))
    if isinstance(data, dict):
        return {str(k): to_plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple | set):
        return [to_plain(v) for v in data]
    if isinstance(data, str | int | float | bool) or data is None:
        return data
    return str(data)


class PlainRows:
    """Tab-separated rows as a Rich renderable, so commands print them like a table."""

    def __init__(self, columns: Sequence[str], rows: list[list[str]]) -> None:
        self.columns, self.rows = list(columns), rows

    def lines(self) -> list[str]:
        clean = [[" ".join(cell.split()) or "-" for cell in row] for row in [self.columns, *self.rows]]
        return ["\t".join(row) for row in clean]

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Segment]:
        # Segments, not Text: Text would expand the tabs into spaces.
        for line in self.lines():
            yield Segment(line)
            yield Segment.line()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact.redact(record.getMessage())
        record.args = ()
        return True


def setup_logging(output: Output) -> None:
    """Route library logging to stderr through the same redaction; -v shows INFO, -vv DEBUG."""
    level = logging.WARNING - 10 * min(output.verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_billingops", False):
            root.removeHandler(existing)
    handler._billingops = True  # type: ignore[attr-defined]  # marks our handler so re-setup replaces it
    root.addHandler(handler)
    root.setLevel(level)
    # Cloud SDKs log request details at DEBUG; keep them out unless asked twice.
    for noisy in ("botocore", "boto3", "urllib3", "google", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if output.verbose >= 3 else logging.WARNING)
