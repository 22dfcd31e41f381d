"""What a use case may ask of the person running it: progress lines and questions, nothing about rendering.

console.Output implements it at the edge (Rich on a terminal, plain lines otherwise, JSON mode); tests and
in-process callers pass any object with these methods. Use cases never import Rich or Typer.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol


class UI(Protocol):
    json_mode: bool

    def say(self, message: str, level: str = "info") -> None:
        """One progress line on stderr (level: info, ok, warn, error)."""

    def warn(self, message: str) -> None: ...

    def confirm(self, question: str, *, flag: str = "--yes") -> bool:
        """Yes/no; the flag answers it non-interactively, and without a terminal it is ApprovalRequired."""

    def confirm_typed(self, question: str, expected: str, *, flag: str) -> bool:
        """The operator types `expected` (an environment name, a lock id) to go on."""

    def require_interactive(self, question: str, flag: str) -> None: ...

    def status(self, message: str) -> AbstractContextManager[None]:
        """A spinner (or one line) while a long call runs."""



