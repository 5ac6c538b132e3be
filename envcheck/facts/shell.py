"""Shell start-up files: where PATH, LD_LIBRARY_PATH, CUDA_VISIBLE_DEVICES, CUDA_HOME and proxies
are set, whether conda's init block is there, and whether login shells reach ~/.bashrc."""

from __future__ import annotations

import os
import re
from pathlib import Path

from envcheck.core.context import Context
from envcheck.facts import collector
from envcheck.facts.paths import is_distro_default
from envcheck.core.redact import redact_text

STARTUP_FILES = (".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc")
# A login bash reads the first of these that exists, and only that one (bash(1), INVOCATION).
BASH_LOGIN_FILES = (".bash_profile", ".bash_login", ".profile")
CONDA_BEGIN = ">>> conda initialize >>>"
CONDA_END = "<<< conda initialize <<<"
# Where installers put conda when the user accepts the defaults.
CONDA_DEFAULT_DIRS = ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba")

# `export NAME=...`, `NAME=...`, `declare -x NAME=...`, `export NAME` (no value).
_ASSIGNMENT = re.compile(
    r"^\s*(?:(?P<export>export|declare\s+-x|typeset\s+-x)\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<eq>\+?=)?(?P<value>.*)$"
)
_WATCHED = re.compile(r"^(PATH|LD_LIBRARY_PATH|PYTHONPATH|CUDA_VISIBLE_DEVICES|CUDA_HOME|[A-Za-z]+_proxy)$", re.IGNORECASE)
# `if [ -d "$HOME/bin" ] ; then`, `if test -d ~/bin; then`, `elif [[ -d DIR ]]`: the folder the block needs.
_DIR_TEST = re.compile(r"""(?:\[\[?|\btest)\s+-d\s+("[^"]*"|'[^']*'|[^\s\]]+)""")
_IF = re.compile(r"^(if|elif)\b")
# `. ~/.bashrc`, `source "$HOME/.bashrc"`, `[ -f ~/.bashrc ] && . ~/.bashrc`
_SOURCES_BASHRC = re.compile(r"(?:^|[\s;&|])(?:source|\.)\s+[\"']?(?:~|\$HOME|\$\{HOME\})/\.bashrc\b")
_PYTHONISH = ("python", "python3", "pip", "pip3")


_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _expand(value: str, home: Path, env) -> str:
    """Expand ~ and $VARS the way the shell would, as far as the current environment knows them."""
    value = value.strip().strip('"').strip("'")
    if value.startswith("~"):
        value = str(home) + value[1:]

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name == "HOME":
            return str(home)
        return env.get(name, match.group(0))

    return _VARIABLE.sub(substitute, value)


def _path_parts(value: str, name: str, home: Path, env, guarded_dirs=()) -> list[dict]:
    """Dirs a PATH-like assignment adds, whether each goes before the old value, and whether the line
    only runs when that folder exists (inside `if [ -d DIR ]`)."""
    value = value.strip()
    # Drop a trailing comment and quotes around the whole value.
    value = re.split(r"\s+#", value, maxsplit=1)[0].strip().strip('"').strip("'")
    parts = value.split(":")
    old_markers = {f"${name}", f"${{{name}}}", f"${{{name}:+:${name}}}"}
    old_index = next((i for i, p in enumerate(parts) if p.strip('"') in old_markers or p.startswith(f"${{{name}")), None)
    result = []
    for index, part in enumerate(parts):
        part = part.strip('"').strip("'")
        if not part or part in old_markers or part.startswith(f"${{{name}"):
            continue
        directory = _expand(part, home, env)
        unresolved = "$" in directory  # another variable: we cannot know its value
        has = [n for n in _PYTHONISH if not unresolved and os.path.isfile(os.path.join(directory, n))]
        result.append({
            "dir": redact_text(directory),
            "exists": None if unresolved else os.path.isdir(directory),
            "guarded": os.path.normpath(directory) in guarded_dirs,
            # ~/bin, ~/.local/bin, /snap/bin...: skeleton files and installers add them before they exist.
            "default_dir": is_distro_default(directory, home),
            "prepended": old_index is not None and index < old_index,
            "replaces_old_value": old_index is None,
            "python_executables": has,
        })
    return result


def _track_if(line: str, stack: list, home: Path, env) -> None:
    """Follow `if`/`elif`/`else`/`fi` (one per line, as start-up files are written) and the folders
    each condition requires with `-d`."""
    code = line.split("#", 1)[0].strip() if not line.startswith("#") else ""
    if not code:
        return
    words = re.split(r"[\s;]+", code)
    if _IF.match(code):
        tested = [os.path.normpath(_expand(m.group(1), home, env)) for m in _DIR_TEST.finditer(code)]
        # `if ! [ -d DIR ]` or `||` does not promise the folder exists.
        promises = tested if "!" not in words and "||" not in code else []
        if code.startswith("elif") and stack:
            stack[-1] = promises
        else:
            stack.append(promises)
        if words[-1] == "fi" or code.endswith(("; fi", ";fi")):
            stack.pop()
        return
    if words[0] == "else" and stack:
        stack[-1] = None
    if (words[0] == "fi" or words[-1] == "fi") and stack:
        stack.pop()


def scan_startup_file(path: Path, home: Path, env=None) -> dict:
    env = env or {}
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return {"path": str(path), "exists": False}
    except OSError as exc:
        return {"path": str(path), "exists": True, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}
    lines = text.splitlines()
    conda_start = conda_end = None
    assignments = []
    sources_bashrc = False
    # Open `if` blocks, innermost last: the folders their condition tests with -d (None in an
    # `else` branch, which runs when the folder is missing).
    if_stack: list[list[str] | None] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        _track_if(stripped, if_stack, home, env)
        if CONDA_BEGIN in stripped and conda_start is None:
            conda_start = number
            continue
        if CONDA_END in stripped and conda_start is not None and conda_end is None:
            conda_end = number
            continue
        if not stripped or stripped.startswith("#"):
            continue
        if _SOURCES_BASHRC.search(stripped):
            sources_bashrc = True
        match = _ASSIGNMENT.match(stripped)
        if not match or not _WATCHED.match(match.group("name")):
            continue
        if not match.group("eq") and not match.group("export"):
            continue
        name = match.group("name")
        in_conda_block = conda_start is not None and conda_end is None
        entry = {
            "file": str(path),
            "line": number,
            "name": name,
            "exported": bool(match.group("export")),
            "text": redact_text(stripped),
            "in_conda_block": in_conda_block,
        }
        guarded = {d for frame in if_stack if frame for d in frame}
        if guarded:
            entry["guarded_by"] = sorted(redact_text(d) for d in guarded)
        if name in ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH") and match.group("eq"):
            entry["parts"] = _path_parts(match.group("value"), name, home, env, guarded)
        assignments.append(entry)
    return {
        "path": str(path),
        "exists": True,
        "conda_init": conda_start is not None,
        "conda_init_lines": [conda_start, conda_end] if conda_start is not None else None,
        "sources_bashrc": sources_bashrc,
        "assignments": assignments,
    }


def _conda_installation(ctx: Context) -> dict:
    exe = ctx.env.get("CONDA_EXE") or ctx.which("conda")
    if not exe:
        for name in CONDA_DEFAULT_DIRS:
            candidate = ctx.home / name / "bin" / "conda"
            if candidate.exists():
                exe = str(candidate)
                break
    return {"installed": exe is not None, "exe": exe}


def mark_read_by_bash(files: dict) -> None:
    """Set "read" on each login file: a login bash reads only the first of ~/.bash_profile,
    ~/.bash_login and ~/.profile that exists, so lines in the others never run in bash."""
    first = next((name for name in BASH_LOGIN_FILES if (files.get(name) or {}).get("exists")), None)
    for name in BASH_LOGIN_FILES:
        info = files.get(name)
        if info is not None and info.get("exists"):
            info["read"] = name == first
            if name != first:
                info["not_read_because"] = f"a login bash reads ~/{first} instead"


@collector("shell", "Shell start-up files: PATH/CUDA/proxy exports, conda init block, login-shell wiring")
def collect_shell(ctx: Context) -> dict:
    shell_path = ctx.env.get("SHELL") or None
    shell_name = os.path.basename(shell_path) if shell_path else None
    files = {name: scan_startup_file(ctx.home / name, ctx.home, ctx.env) for name in STARTUP_FILES}
    if shell_name in (None, "bash"):
        mark_read_by_bash(files)
    return {
        "login_shell": shell_path,
        "login_shell_name": shell_name,
        "files": files,
        "conda": _conda_installation(ctx),
    }
