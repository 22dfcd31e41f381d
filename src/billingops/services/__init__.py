"""Use cases: what a command does, without Typer or Rich.

Each takes a session.Session (or plain arguments), asks the operator only through session.ui, raises the
errors of billingops.errors and returns a dataclass the command renders (its `asdict` is the --json document).
"""
