"""recognition/engine is pure: no module below it imports Django (workers, CLIs and benches use it alone)."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "recognition" / "engine"


def django_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)  # importlib.import_module("django...") / __import__("django")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
        ):
            names = [node.args[0].value]
        found += [f"{path.name}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == "django"]
    return found


def test_engine_has_python_files():
    assert len(list(ENGINE.rglob("*.py"))) >= 10


def test_no_module_under_engine_imports_django():
    offenders = [hit for path in sorted(ENGINE.rglob("*.py")) for hit in django_imports(path)]
    assert offenders == []


def test_the_checker_catches_each_form(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import django\nfrom django.conf import settings\nimport importlib\n"
        "def f():\n    import django.db as db\n    importlib.import_module('django.apps')\n"
        "from recognition.engine import types\n"
    )
    assert len(django_imports(sample)) == 4
