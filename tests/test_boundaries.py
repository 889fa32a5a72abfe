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


def _private_attributes(path: Path) -> list[str]:
    """Attribute accesses `x._name` (not dunders, not on self or cls) and underscore names
    imported from SQLAlchemy: the ways code reaches into a library's internals."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not (
                node.attr.startswith("__") and node.attr.endswith("__")):
            if not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"{path.name}:{node.lineno} {node.module}.{alias.name}"
                      for alias in node.names if alias.name.startswith("_")]
            if any(part.startswith("_") for part in (node.module or "").split(".")):
                found.append(f"{path.name}:{node.lineno} {node.module}")
    return found


PRODUCT = sorted(p for package in ("pathway", "api", "scheduler", "pathway_cli")
                 for p in (ROOT / package).rglob("*.py"))


def test_no_private_attribute_of_a_library_anywhere() -> None:
    """SQLAlchemy (and every other library) through its public API only (issue 13)."""
    offenders = [hit for path in PRODUCT for hit in _private_attributes(path)]
    assert offenders == []


def test_private_attribute_check_would_catch_one(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from sqlalchemy.orm.loading import _instance\n"
                      "x = col.type._cached_bind_processor(d)\nself._mine = 1\n")
    assert _private_attributes(sample) == [
        "bad.py:1 sqlalchemy.orm.loading._instance", "bad.py:2 ._cached_bind_processor"]


RULES = sorted((ROOT / "pathway" / "rules").rglob("*.py"))


@pytest.mark.parametrize("path", RULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_rules_do_no_io(path: Path) -> None:
    """`pathway/rules/` decides from plain values: no SQL, no ORM, no store, no clock."""
    io = ("sqlalchemy", "pathway.store",
          "pathway.outbox", "sqlite3", "psycopg", "socket", "smtplib")
    bad = [(line, name) for line, name in _imports(path) if name.startswith(io)]
    assert bad == [], f"{path.name} does I/O: {bad}"


def test_sql_only_in_the_store_for_the_write_path() -> None:
    """The use cases of the transition path hold no SQL of their own."""
    for name in ("episodes.py", "reminders.py", "scan.py", "milestones.py"):
        names = [n for _, n in _imports(ROOT / "pathway" / name)]
        assert not [n for n in names if n == "sqlalchemy" or n.startswith("sqlalchemy.sql")], name


#: What the code outside the store may take from SQLAlchemy: the session and engine handles it
#: passes to the store, and the exceptions it answers. Nothing that builds or runs a query.
ALLOWED_SQLALCHEMY = {("sqlalchemy", "Engine"), ("sqlalchemy.orm", "Session"),
                      ("sqlalchemy.orm", "sessionmaker")}
#: Method calls that run SQL, whatever the receiver is called.
RUNS_SQL = {"execute", "scalar", "scalars", "query", "exec_driver_sql", "executemany"}
STORE = ROOT / "pathway" / "store"


def _sql_outside_the_store(path: Path) -> list[str]:
    """SQLAlchemy imports beyond the handles and exceptions, and calls that run SQL (or a
    session's `get(Model, id)`, a query by primary key)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [f"{path.name}:{node.lineno} {node.module}.{a.name}" for a in node.names
                      if (node.module, a.name) not in ALLOWED_SQLALCHEMY
                      and node.module != "sqlalchemy.exc"]
        elif isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names
                      if a.name.split(".")[0] in {"sqlalchemy", "sqlite3", "psycopg"}]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value)
            first = node.args[0] if node.args else None
            by_key = (node.func.attr == "get" and isinstance(first, ast.Name)
                      and first.id[:1].isupper() and not first.id.isupper())  # get(Model, id)
            if node.func.attr in RUNS_SQL or by_key:
                found.append(f"{path.name}:{node.lineno} {receiver}.{node.func.attr}()")
    return found


def test_sql_only_in_the_store() -> None:
    """`pathway/store/` is the only place with SQL: api/, scheduler/, the CLI and the rest of
    the core pass sessions to it and never build or run a statement (issue 13)."""
    offenders = [hit for path in PRODUCT if STORE not in path.parents
                 for hit in _sql_outside_the_store(path)]
    assert offenders == []


def test_sql_check_would_catch_a_query(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from sqlalchemy import select\nfrom sqlalchemy.orm import Session\n"
                      "from sqlalchemy.exc import IntegrityError\nimport sqlite3\n"
                      "rows = session.scalars(q)\nr = unit.session.get(Reminder, 1)\n"
                      "x = {}.get('a')\ny = request.session.get(KEY)\n")
    assert _sql_outside_the_store(sample) == [
        "bad.py:1 sqlalchemy.select", "bad.py:4 import sqlite3", "bad.py:5 session.scalars()",
        "bad.py:6 unit.session.get()"]
