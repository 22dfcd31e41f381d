"""Every command's help ends with an Examples section, and its placeholders read as words."""

from __future__ import annotations

import re

import typer

from billingops.cli import app

TYPE_LABELS = re.compile(r"<(?:str|int|float|path|bool|list\[[^\]]*\]|[a-z]+ range)>|\b(?:TEXT|INTEGER|FLOAT|"
                         r"BOOLEAN|PATH)\b")


def _walk(command, path: tuple[str, ...] = ()):
    yield path, command
    if hasattr(command, "list_commands"):
        ctx = typer.Context(command)
        for name in command.list_commands(ctx):
            if not command.get_command(ctx, name).hidden:
                yield from _walk(command.get_command(ctx, name), (*path, name))


def test_every_command_has_examples_and_word_placeholders(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    root = typer.main.get_command(app)
    paths = [(path, command) for path, command in _walk(root) if path]
    assert len(paths) > 25
    for path, command in paths:
        text = command.get_help(typer.Context(command, info_name=" ".join(path)))
        assert "Examples:" in text, f"{' '.join(path)} has no Examples section"
        examples = text.split("Examples:", 1)[1].strip().splitlines()
        assert all("billingops " in line for line in examples), (path, examples)
        assert any(f"billingops {path[0]}" in line for line in examples), (path, examples)
        assert not TYPE_LABELS.findall(text), (" ".join(path), TYPE_LABELS.findall(text))


def test_the_type_label_check_would_catch_typers_labels():
    assert TYPE_LABELS.findall("--as <str>  --limit <int range>  --var <list[str]>  --x TEXT  --y <float range>")
    assert not TYPE_LABELS.findall("--var NAME=VALUE  Fill a <NAME> placeholder  --timeout DURATION")


def test_a_duration_default_is_shown_as_a_duration(run_cli):
    shown = " ".join(run_cli("rollout", "--help", env={"COLUMNS": "200"}).stdout.split())
    assert "[default: (15m)]" in shown and "[default: (2m)]" in shown and "900.0" not in shown
