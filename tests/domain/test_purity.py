"""recognition/domain is pure: numpy and the standard library only, nothing of Django, of an app of this project
or of recognition.engine (callers run the engine and hand plain numbers to the rules)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOMAIN = REPO / "recognition" / "domain"
ALLOWED = {"numpy", "__future__", *sys.stdlib_module_names}


def foreign_imports(path: Path) -> list[str]:
    """Every import in `path` of something other than numpy, the standard library or recognition.domain."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{path.name}:{node.lineno} imports {name}"
            for name in names
            if name.split(".")[0] not in ALLOWED and not (name + ".").startswith("recognition.domain.")
        ]
    return found


def test_domain_has_the_modules_of_the_plan():
    names = {path.stem for path in DOMAIN.glob("*.py")}
    assert {"matching", "quality", "liveness", "head_pose"} <= names


def test_no_domain_module_imports_beyond_numpy_and_the_standard_library():
    offenders = [hit for path in sorted(DOMAIN.rglob("*.py")) for hit in foreign_imports(path)]
    assert offenders == []


def test_the_checker_catches_each_form(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import django\nfrom scipy.optimize import linear_sum_assignment\nfrom recognition.engine import types\n"
        "import recognition.services.matching\nimport numpy as np\nfrom recognition.domain.matching import Hit\n"
        "def f():\n    from accounts import capture\n"
    )
    assert [hit.split(" imports ")[1] for hit in foreign_imports(sample)] == [
        "django", "scipy.optimize", "recognition.engine", "recognition.services.matching", "accounts",
    ]  # fmt: skip


def test_importing_the_domain_loads_no_django():
    modules = [f"recognition.domain.{path.stem}" for path in sorted(DOMAIN.glob("*.py"))]
    probe = f"import sys, {', '.join(modules)}; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
        "('django', 'scipy', 'accounts', 'attendance')) or sorted(m for m in sys.modules " \
        "if m.startswith('recognition.') and not m.startswith('recognition.domain')))"  # fmt: skip
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
