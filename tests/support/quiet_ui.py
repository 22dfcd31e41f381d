"""The least a transfer Reporter needs from the CLI's output: for migrations run in-process by the tests."""

from __future__ import annotations


class QuietUi:
    json_mode = False

    def say(self, message: str, level: str = "info") -> None:
        pass

    def warn(self, message: str) -> None:
        pass
