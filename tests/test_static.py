"""Static checks in CI: ruff over the code, bandit over src/ with every skip explained, mypy --strict on the
packages that talk to the outside world."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# mypy --strict on what talks to clouds, locks, terraform, processes and the databases migrate-cloud moves.
# In transfer/, a hiredis reply is `redis_resp.Reply` (Any: its shape depends on the command sent) and psycopg
# connections are passed as Any; everything else there is typed.
STRICT = ["src/billingops/clouds", "src/billingops/locks", "src/billingops/services", "src/billingops/transfer",
          "src/billingops/terraform", "src/billingops/sandbox", "src/billingops/runs", "src/billingops/config",
          "src/billingops/process.py", "src/billingops/redact.py", "src/billingops/session.py",
          "src/billingops/ui.py", "src/billingops/entry.py", "src/billingops/command_table.py"]


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean():
    result = _run("ruff", "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout[-4000:]


def test_bandit_finds_nothing_unexplained():
    result = _run("bandit", "-q", "-r", "src", "-c", "pyproject.toml")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_mypy_strict_on_the_outward_packages():
    if shutil.which("mypy") is None and _run("mypy", "--version").returncode != 0:
        pytest.fail("mypy is not installed: pip install -e '.[dev]'")
    result = _run("mypy", "--strict", *STRICT)
    assert result.returncode == 0, result.stdout[-4000:]


def test_import_layers_hold():
    """The layers written down in pyproject.toml ([tool.importlinter]) hold: edge > commands > services > runs,
    nothing below the commands imports Typer, Rich or the console, only clouds/ imports a cloud adapter."""
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail("import-linter is not installed: pip install -e '.[dev]'")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "0 broken" in result.stdout


def test_no_import_cycle_between_modules():
    """Lazy imports included, TYPE_CHECKING blocks aside: a cycle means two modules that are one in disguise."""
    import ast
    import graphlib

    src = REPO / "src"
    modules = {".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (src / "billingops").rglob("*.py")}

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
        targets = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("billingops"):
                targets |= {owner(f"{node.module}.{a.name}") for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {owner(a.name) for a in node.names if a.name.startswith("billingops")}
        graph[name] = {t for t in targets if t and t != name and not name.startswith(t + ".")}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")
