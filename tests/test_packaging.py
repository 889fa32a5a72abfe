"""Every distribution the product imports is declared in pyproject.toml (an installed wheel
gets only what is declared; a transitive dependency can disappear on any upgrade)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN = {"pathway", "api", "scheduler", "pathway_cli"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_levels() -> set[str]:
    found: set[str] = set()
    for package in OWN:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in OWN}


def test_every_imported_distribution_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_normal(re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0])
                for d in project["dependencies"]}
    owners = packages_distributions()
    missing = {module: owners.get(module, ["?"]) for module in _imported_top_levels()
               if not {_normal(d) for d in owners.get(module, [])} & declared}
    assert missing == {}
