"""Use cases: what a command does, without Typer or Rich. Each takes a session.Session (or plain arguments),
returns a dataclass, raises billingops.errors, and asks the operator only through session.ui."""
