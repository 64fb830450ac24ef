"""The arrows of the house plan: recognition and attendance send signals and never import integrations."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update((str(path.relative_to(REPO)), alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path.relative_to(REPO)), node.module))
    return found


@pytest.mark.parametrize("package", ["recognition", "attendance"])
def test_domains_never_import_integrations(package: str) -> None:
    wrong = sorted(f"{where} imports {module}" for where, module in imported_modules(package)
                   if module == "integrations" or module.startswith("integrations."))  # fmt: skip
    assert not wrong, "\n".join(wrong)
