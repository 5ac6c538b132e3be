"""The rule of envcheck/target: scripts the diagnosed interpreter runs stay standard-library-only,
parse as Python 3.6, never import envcheck, and drop their own folder from sys.path first."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import envcheck.target

TARGET = Path(envcheck.target.__file__).resolve().parent
SCRIPTS = sorted(p for p in TARGET.glob("*.py") if p.name != "__init__.py")
ALLOWED_THIRD_PARTY = {"probe.py": {"torch", "torchvision"}}
PATH_RULE = 'sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]'


def test_the_scripts_are_the_ones_we_expect():
    assert [p.name for p in SCRIPTS] == ["pkginfo.py", "probe.py", "pyinfo.py"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_python_36_syntax_and_standard_library_only(script):
    tree = ast.parse(script.read_text(), feature_version=(3, 6))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    foreign = imported - set(sys.stdlib_module_names) - ALLOWED_THIRD_PARTY.get(script.name, set())
    assert not foreign, f"{script.name} imports {foreign}"
    assert "envcheck" not in imported


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_own_folder_dropped_before_other_imports(script):
    lines = script.read_text().splitlines()
    rule_line = next(i for i, line in enumerate(lines) if line.strip() == PATH_RULE)
    first_other_import = next(i for i, line in enumerate(lines)
                              if line.startswith(("import ", "from ")) and line not in ("import os", "import sys"))
    assert rule_line < first_other_import


def test_a_module_beside_the_script_does_not_shadow_the_target(tmp_path):
    # Copy pyinfo next to a fake `json.py`: had the script's folder stayed on sys.path, json would be the fake.
    (tmp_path / "json.py").write_text("raise SystemExit('THE FAKE JSON MODULE')\n")
    (tmp_path / "pyinfo.py").write_text((TARGET / "pyinfo.py").read_text())
    done = subprocess.run([sys.executable, str(tmp_path / "pyinfo.py")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "THE FAKE JSON MODULE" not in done.stdout + done.stderr
