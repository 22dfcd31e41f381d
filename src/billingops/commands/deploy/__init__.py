"""`billingops deploy`: the deployment checklist as named steps (being written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
