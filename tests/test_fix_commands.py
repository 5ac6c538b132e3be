"""checks/_commands.py: the install commands a fix prints, spelled for the diagnosed interpreter."""

from __future__ import annotations

import os

from envcheck.checks._commands import pip_command, pip_install, python_command
from envcheck.core.model import Facts


def facts(target: dict, path_python_prefix: str | None) -> Facts:
    on_path = {"python": {"path": "/usr/bin/python", "prefix": path_python_prefix}} if path_python_prefix else {}
    return Facts.of(python={"target": target, "on_path": on_path})


def test_the_python_on_path_is_the_target_so_plain_python_works():
    f = facts({"executable": "/envs/dl/bin/python", "prefix": "/envs/dl"}, "/envs/dl")
    assert pip_install(f, "torch") == "python -m pip install torch"


def test_another_interpreter_is_named_by_its_path():
    f = facts({"executable": "/envs/dl/bin/python", "prefix": "/envs/dl"}, "/usr")
    assert pip_install(f, "torch --index-url URL") == "/envs/dl/bin/python -m pip install torch --index-url URL"
    assert python_command(f) == "/envs/dl/bin/python"


def test_no_python_on_path_names_the_target():
    f = facts({"executable": "/opt/py/bin/python3", "prefix": "/opt/py"}, None)
    assert pip_command(f, "uninstall") == "/opt/py/bin/python3 -m pip uninstall"


def test_a_path_with_a_space_is_quoted_for_the_shell():
    f = facts({"executable": "/home/u/my envs/a/bin/python", "prefix": "/home/u/my envs/a"}, "/usr")
    assert pip_install(f, "numpy") == "'/home/u/my envs/a/bin/python' -m pip install numpy"


def test_a_uv_venv_without_pip_installs_through_uv():
    target = {"executable": "/p/.venv/bin/python", "prefix": "/p/.venv", "env_manager": "uv",
              "pip": {"version": None, "importable": False}}
    assert pip_install(facts(target, "/p/.venv"), "torch") == "uv pip install --python /p/.venv/bin/python torch"
    # The same venv once pip is installed into it: pip works as usual.
    target["pip"] = {"version": "24.0", "importable": True}
    assert pip_install(facts(target, "/p/.venv"), "torch") == "python -m pip install torch"


def test_the_same_env_reached_through_a_symlinked_home_is_plain_python(tmp_path):
    real = tmp_path / "data" / "u"
    (real / "venv" / "bin").mkdir(parents=True)
    os.symlink(real, tmp_path / "home")
    # sys.prefix spelled through the link; PATH's python resolved (as facts.python_env.prefix_of does).
    target = {"executable": str(tmp_path / "home/venv/bin/python"), "prefix": str(tmp_path / "home/venv"),
              "prefix_real": str(real / "venv")}
    assert python_command(facts(target, str(real / "venv"))) == "python"
    # Without prefix_real (an older pyinfo) the link is resolved here.
    target.pop("prefix_real")
    assert python_command(facts(target, str(real / "venv"))) == "python"


def test_nothing_known_about_the_target_says_python():
    assert pip_install(Facts.of(python={}), "torch") == "python -m pip install torch"
