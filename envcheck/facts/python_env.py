"""The interpreter being diagnosed, the one envcheck runs under, and what `python`/`pip` on PATH
really are.

The target is inspected by running envcheck/target/pyinfo.py with it, so a conda env's python can be
diagnosed without installing envcheck into that env.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from envcheck.core.context import Context
from envcheck.facts import collector
from envcheck.i18n import _

PYINFO = Path(__file__).resolve().parent.parent / "target" / "pyinfo.py"

# pip's console script for a long interpreter path starts with a /bin/sh trampoline instead of a
# plain shebang (Linux limits shebang length): '''exec' "/very/long/env/bin/python" "$0" "$@"
_SH_TRAMPOLINE = re.compile(r"""exec'?\s+"?(?P<interp>/[^"\s]+)"?""")


def prefix_of(executable: str) -> str:
    """The environment an executable installs into (what its sys.prefix will be), symlinks resolved.

    Python looks for pyvenv.cfg next to the path it was started as (its folder or the folder above),
    before following any link: a venv's bin/python is a symlink to the base interpreter, yet it
    installs into the venv. Without a pyvenv.cfg there, the link is followed to the real file, so
    `~/bin/python -> /usr/bin/python3` is /usr, not the home folder.
    """
    path = Path(os.path.abspath(executable))
    # site.py/getpath: pyvenv.cfg in the executable's folder or the one above; sys.prefix is then
    # the folder above the executable's.
    if (path.parent / "pyvenv.cfg").is_file() or (path.parent.parent / "pyvenv.cfg").is_file():
        return str(path.parent.parent.resolve())
    return str(path.resolve().parent.parent)


def _parse_json_output(stdout: str) -> dict | None:
    text = stdout.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        # Something (a sitecustomize, a conda activation hook) printed before our JSON.
        for line in reversed(text.splitlines()):
            if line.startswith("{"):
                try:
                    value = json.loads(line)
                    break
                except ValueError:
                    continue
        else:
            return None
    return value if isinstance(value, dict) else None


def start_early(python: str) -> None:
    """Start pyinfo.py under `python` before anything else is imported (envcheck/cli.py, for
    `envcheck doctor`); inspect_target adopts it when its run would be the very same."""
    from envcheck.core import runner

    runner.start_early("python", [python, str(PYINFO)])


def inspect_target(ctx: Context) -> tuple[dict | None, str | None]:
    """Run pyinfo.py with ctx.python: (data, None) or (partial data or None, why it failed)."""
    from envcheck.core import runner

    result, _early = runner.run_adopting("python", ctx, [ctx.python, str(PYINFO)], ctx.timeout)
    if result.error:
        return None, _("{python} could not be run: {error}").format(python=ctx.python, error=result.error)
    if result.timed_out:
        return None, _("{python} did not answer in time (timed out while listing its packages)").format(python=ctx.python)
    data = _parse_json_output(result.stdout)
    if data is None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [_("no output")]
        return None, _("{python} is not a working Python interpreter (exit {code}: {last_line})").format(
            python=ctx.python, code=result.returncode, last_line=tail[0])
    if data.get("error"):
        return data, _("{python} ran but failed to describe itself: {error}").format(python=ctx.python, error=data["error"])
    return data, None


def read_shebang_interpreter(script: str, ctx: Context) -> str | None:
    """The interpreter a console script (pip) runs with, from its first lines."""
    try:
        with open(script, "rb") as handle:
            head = handle.read(1024).decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = head.splitlines()
    if not lines or not lines[0].startswith("#!"):
        return None
    parts = lines[0][2:].strip().split()
    if not parts:
        return None
    if parts[0].endswith("/env") and len(parts) > 1:
        args = [p for p in parts[1:] if not p.startswith("-")]
        return ctx.which(args[0]) if args and _looks_like_python(args[0]) else None
    interpreter = parts[0]
    if not _looks_like_python(interpreter):
        # A shell script: pip's long-path trampoline names the interpreter; a pyenv or asdf
        # shim decides at run time, so we cannot say.
        for line in lines[1:5]:
            match = _SH_TRAMPOLINE.search(line)
            if match and _looks_like_python(match.group("interp")):
                return match.group("interp")
        return None
    return interpreter


def _looks_like_python(path: str) -> bool:
    return re.match(r"^(python|pypy)[0-9.]*$", Path(path).name) is not None


def _pyenv_for(found: str, ctx: Context) -> str | None:
    """The pyenv executable that owns the shim `found`, or None when `found` is no pyenv shim."""
    shims = Path(found).parent
    if shims.name != "shims":
        return None
    pyenv = ctx.which("pyenv") or str(shims.parent / "bin" / "pyenv")
    return pyenv if Path(pyenv).is_file() else None


def pyenv_versions(ctx: Context, pyenv: str) -> list[str] | None:
    """The versions pyenv selects here (`pyenv version-name`: PYENV_VERSION, .python-version,
    the global file), in order; None when pyenv cannot say."""
    result = ctx.run([pyenv, "version-name"], timeout=min(ctx.timeout, 5.0))
    lines = result.stdout.strip().splitlines() if result.ok else []
    versions = [v for v in lines[-1].split(":") if v.strip()] if lines else []
    return versions or None


def resolve_pyenv_shim(ctx: Context, name: str, found: str, versions: list[str] | None = None) -> str | None:
    """The executable a pyenv shim runs, or None when `found` is no shim.

    A shim is a small shell script that picks the interpreter at run time (.python-version,
    PYENV_VERSION), so neither its path nor its shebang says which Python or pip it is. With the
    selected `versions` (pyenv_versions: one `pyenv version-name` for every name), the executable
    is the first of <root>/versions/<version>/bin/NAME that exists, or for "system" the next NAME
    on PATH after the shims, as `pyenv which` finds it; anything else asks `pyenv which NAME`
    (a shell script costing ~0.05 CPU-s per name, which is why it is the fallback).
    """
    pyenv = _pyenv_for(found, ctx)
    if pyenv is None:
        return None
    shims = Path(found).parent
    for version in versions or ():
        if version == "system":
            path = os.pathsep.join(d for d in ctx.env.get("PATH", "").split(os.pathsep)
                                   if d and Path(d) != shims)
            candidate = shutil.which(name, path=path)
        else:
            candidate = str(shims.parent / "versions" / version / "bin" / name)
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    result = ctx.run([pyenv, "which", name], timeout=min(ctx.timeout, 5.0))
    lines = result.stdout.strip().splitlines() if result.ok else []
    return lines[-1] if lines and Path(lines[-1]).is_file() else None


def _on_path(ctx: Context, name: str, versions: list[str] | None = None) -> dict | None:
    found = ctx.which(name)
    if not found:
        return None
    shim_target = resolve_pyenv_shim(ctx, name, found, versions)
    effective = shim_target or found
    entry: dict = {"path": found, "realpath": str(Path(effective).resolve()), "prefix": prefix_of(effective),
                   "pyenv_shim_for": shim_target}
    if name.startswith("pip"):
        interpreter = read_shebang_interpreter(effective, ctx)
        entry["interpreter"] = interpreter
        entry["installs_into"] = prefix_of(interpreter) if interpreter else None
    return entry


def _all_on_path(ctx: Context, names) -> dict[str, dict | None]:
    """What each name on PATH is; pyenv asked once for its selected versions when any is a shim."""
    pyenv = next((p for p in (_pyenv_for(f, ctx) for f in map(ctx.which, names) if f) if p), None)
    versions = pyenv_versions(ctx, pyenv) if pyenv else None
    return {name: _on_path(ctx, name, versions) for name in names}


@collector("python", "The target interpreter, its packages, and which python/pip PATH resolves to", timeout=40)
def collect_python(ctx: Context) -> dict:
    names = ("python", "python3", "pip", "pip3")
    # Resolving shims asks pyenv (a shell script): do it while the target interpreter describes itself.
    with ThreadPoolExecutor(max_workers=1) as pool:
        lookups = pool.submit(_all_on_path, ctx, names)
        target, target_error = inspect_target(ctx)
        on_path = lookups.result()
    env = ctx.env
    conda_prefix = env.get("CONDA_PREFIX") or None
    return {
        "target": target,
        "target_error": target_error,
        "running": {"executable": sys.executable, "version": platform.python_version()},
        "on_path": on_path,
        "conda": {
            "prefix": env.get("CONDA_PREFIX"),
            # Compared with the real prefix of `python` on PATH (links resolved), not by spelling.
            "prefix_real": os.path.realpath(conda_prefix) if conda_prefix else None,
            "default_env": env.get("CONDA_DEFAULT_ENV"),
            "exe": env.get("CONDA_EXE"),
            "shlvl": env.get("CONDA_SHLVL"),
        },
        "virtual_env": env.get("VIRTUAL_ENV") or None,
        "pythonpath": env.get("PYTHONPATH") or None,
        "pythonnousersite": env.get("PYTHONNOUSERSITE") or None,
        "pythonhome": env.get("PYTHONHOME") or None,
    }
