"""Placeholder: this command module is being written; register() adds its commands to the app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
