"""The commands a fix tells the user to type, spelled for the environment being diagnosed.

A fix must work for the person at the keyboard as written. With `--python /envs/x/bin/python` a
bare `pip install` would install into whatever `pip` PATH finds first, so every install command is
built here from the target interpreter:

- the target is what `python` on PATH runs (same environment, compared by sys.prefix): `python -m pip`;
- otherwise the target's full path: `/envs/x/bin/python -m pip`;
- a uv-made venv without pip (uv leaves pip out by design): `uv pip install --python /envs/x/bin/python`.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from envcheck.core.model import Facts


def _target(facts: Facts) -> dict[str, Any]:
    return facts.data("python").get("target") or {}


def python_command(facts: Facts) -> str:
    """How to run the target interpreter from the user's shell: `python` or its full path."""
    data = facts.data("python")
    target = data.get("target") or {}
    executable = target.get("executable")
    if not executable:
        return "python"
    on_path = (data.get("on_path") or {}).get("python") or {}
    # on_path's prefix has its symlinks resolved (facts.python_env.prefix_of), so compare it with
    # the target's resolved sys.prefix: a home folder reached through a link is the same env.
    target_prefix = target.get("prefix_real") or target.get("prefix")
    same_env = on_path.get("prefix") and target_prefix and \
        os.path.realpath(on_path["prefix"]) == os.path.realpath(target_prefix)
    return "python" if same_env else shlex.quote(executable)


def uses_uv(facts: Facts) -> bool:
    """A uv-made environment without pip: installs go through `uv pip`."""
    target = _target(facts)
    pip = target.get("pip") or {}
    return target.get("env_manager") == "uv" and not pip.get("importable")


def pip_command(facts: Facts, subcommand: str = "install") -> str:
    """`python -m pip install`, `/path/python -m pip install` or `uv pip install --python /path/python`."""
    if uses_uv(facts):
        executable = _target(facts).get("executable") or "python"
        return f"uv pip {subcommand} --python {shlex.quote(executable)}"
    return f"{python_command(facts)} -m pip {subcommand}"


def pip_install(facts: Facts, args: str) -> str:
    """A complete install command: pip_install(facts, "torch --index-url URL")."""
    return f"{pip_command(facts)} {args}".rstrip()
