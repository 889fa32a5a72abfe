"""The core never imports the edges or their frameworks; nothing imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("fastapi", "starlette", "apscheduler", "uvicorn", "httpx", "api", "scheduler",
             "pathway_cli")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


CORE = sorted((ROOT / "pathway").rglob("*.py"))


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_edge(path: Path) -> None:
    bad = [(line, name) for line, name in _imports(path)
           if name.split(".")[0] in FORBIDDEN]
    assert bad == [], f"{path.name} imports an edge: {bad}"


def test_no_imports_inside_functions() -> None:
    offenders = []
    for package in ("pathway", "api", "scheduler", "pathway_cli"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for fn in ast.walk(ast.parse(path.read_text())):
                if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    offenders += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(fn)
                                  if isinstance(n, ast.Import | ast.ImportFrom)]
    assert offenders == []


def test_boundary_check_would_catch_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from fastapi import FastAPI\nimport scheduler.jobs\n")
    assert [n for _, n in _imports(sample)] == ["fastapi", "scheduler.jobs"]
