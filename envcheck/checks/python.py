"""Python checks: which interpreter is diagnosed, and whether `python`/`pip` on PATH are the ones
the user thinks they are."""

from __future__ import annotations

import os

from envcheck import knowledge
from envcheck.checks import check, fail, ok, skip, warn
from envcheck.checks._commands import pip_install, python_command
from envcheck.core.model import Facts, Finding, Status

# Packages whose shadowing breaks training outright (FAIL); any other shadowed package is a warning.
_KEY_MODULES = ("torch", "torchvision", "numpy")
_MANAGER_LABEL = {"uv": "uv venv", "venv": "virtualenv", "virtualenv": "virtualenv", "pixi": "pixi env",
                  "pyenv": "pyenv interpreter", "system": "system interpreter"}


def _same_prefix(a: str | None, b: str | None) -> bool:
    """Two environments are the same when their (collector-resolved) prefixes are."""
    return bool(a and b) and os.path.normpath(a) == os.path.normpath(b)


def _target_prefix(target: dict) -> str | None:
    # prefix_real: sys.prefix with symlinks resolved by pyinfo; prefix for facts recorded before it existed.
    return target.get("prefix_real") or target.get("prefix")


def _env_label(target: dict, conda: dict) -> str:
    manager = target.get("env_manager")
    if target.get("is_conda") and manager != "pixi":
        name = os.path.basename(target.get("prefix") or "") or "?"
        return f"conda env {name!r} ({target.get('prefix')})"
    if manager in _MANAGER_LABEL:
        return f"{_MANAGER_LABEL[manager]} {target.get('prefix')}"
    if target.get("is_venv"):
        return f"virtualenv {target.get('prefix')}"
    return f"system/base interpreter ({target.get('prefix')})"


@check("python.target", "python", "Which interpreter is diagnosed, and whether it could be inspected", facts=("python",))
def target_interpreter(facts: Facts) -> Finding:
    """Which interpreter is diagnosed and what kind of environment it is; fails when it cannot be run,
    is not Python, or times out.

    Why: Every other Python/torch fact is about this interpreter.

    Fix: `envcheck doctor --python ~/miniconda3/envs/NAME/bin/python`
    """
    data = facts.data("python")
    if not data:
        return fail(f"the Python facts could not be collected: {facts.error('python') or 'unknown'}",
                       fix="Run `envcheck doctor -v` to see why, and report it as an envcheck bug.")
    target = data.get("target") or {}
    if data.get("target_error"):
        return fail(
            f"cannot inspect the target interpreter: {data['target_error']}",
            fix="Point envcheck at a working interpreter: `envcheck doctor --python ~/miniconda3/envs/NAME/bin/python`.",
        )
    running = data.get("running") or {}
    details = [f"envcheck itself runs under {running.get('executable')} ({running.get('version')})"]
    if target.get("site_packages"):
        details.append("site-packages: " + ", ".join(target["site_packages"]))
    return ok(
        f"diagnosing {target.get('executable')} (Python {target.get('version')}, "
        f"{target.get('implementation')}) in the {_env_label(target, data.get('conda') or {})}",
        details=details,
    )


@check("python.conda_active_python", "python", "With a conda env active, `python` on PATH is that env's python",
       facts=("python",))
def conda_active_python(facts: Facts) -> Finding | None:
    """`CONDA_PREFIX` is set but `python` on `PATH` belongs to another environment (fail). Environments
    are compared by their real prefix (the folder `python` installs into, symlinks resolved), not by
    how the path is spelled. Only conda's *base* env active while `python` on PATH and the diagnosed
    interpreter are a non-conda Python (pyenv, a venv, the system's) is not a failure: base is
    activated by `conda init` in every shell, and the python in use is evidently another.

    Why: Scripts run by another interpreter do not see the env's packages: "No module named torch"
    right after installing it.

    Fix: `conda deactivate && conda activate NAME`, `hash -r`, `which python`
    """
    data = facts.data("python")
    conda = data.get("conda") or {}
    conda_prefix = conda.get("prefix")
    if not conda_prefix:
        return None
    env_name = conda.get("default_env") or os.path.basename(conda_prefix)
    on_path = (data.get("on_path") or {}).get("python") or (data.get("on_path") or {}).get("python3")
    if on_path is None:
        return fail(f"conda env {env_name!r} is active but no `python` is on PATH",
                       fix=f"conda activate {env_name}\nconda install -n {env_name} python")
    conda_real = conda.get("prefix_real") or conda_prefix
    if _same_prefix(on_path.get("prefix"), conda_real) or \
            os.path.normpath(os.path.dirname(on_path["path"])) == os.path.normpath(os.path.join(conda_prefix, "bin")):
        return ok(f"conda env {env_name!r} is active and `python` is its own ({on_path['path']})")
    target = data.get("target") or {}
    target_is_path_python = _same_prefix(_target_prefix(target), on_path.get("prefix"))
    is_base = env_name == "base" or os.path.basename(os.path.dirname(os.path.normpath(conda_prefix))) != "envs"
    if is_base and target_is_path_python and not target.get("is_conda"):
        return ok(
            f"conda's base env is set in this shell (CONDA_PREFIX={conda_prefix}), but `python` on PATH is "
            f"{on_path['path']} ({_env_label(target, conda)}), the interpreter diagnosed: conda is not in use for it",
            details=["`conda init` activates base in every new shell; if you never use conda's python, "
                     "`conda config --set auto_activate_base false` stops that."],
        )
    return fail(
        f"conda env {env_name!r} is active (CONDA_PREFIX={conda_prefix}) but `python` on PATH is "
        f"{on_path['path']} (environment {on_path.get('prefix')}): scripts run outside the env and do not see its packages",
        fix=f"conda deactivate && conda activate {env_name}\nhash -r\nwhich python   # must print {conda_prefix}/bin/python",
        details=[
            "A PATH line in ~/.bashrc placed after the conda init block, or an alias, usually puts another python first; "
            "see the `shell` area.",
        ],
    )


def _same_environment(pip: dict, python: dict) -> bool | None:
    # Both prefixes come from python_env.prefix_of: the environment each installs into, links resolved.
    installs_into = pip.get("installs_into")
    if not installs_into:
        return None
    return _same_prefix(installs_into, python.get("prefix"))


@check("python.pip_matches_python", "python", "`pip` on PATH installs into the same environment as `python`",
       facts=("python",))
def pip_matches_python(facts: Facts) -> list[Finding] | Finding | None:
    """`pip`/`pip3` on `PATH` install into a different environment than `python`/`python3` (fail); a
    pyenv shim is resolved with `pyenv which pip`; an asdf shim or another wrapper is reported as
    unknown. Environments are compared by real prefix (pyvenv.cfg, then symlinks resolved), so
    `~/bin/python -> /usr/bin/python3` and `/usr/bin/pip3` are the same.

    Why: `pip install` succeeds but the package is not importable.

    Fix: `python -m pip install …`
    """
    on_path = facts.data("python").get("on_path") or {}
    findings = []
    checked = []
    for pip_name, python_name in (("pip", "python"), ("pip3", "python3")):
        pip, python = on_path.get(pip_name), on_path.get(python_name)
        if not pip or not python:
            continue
        same = _same_environment(pip, python)
        if same is None:
            findings.append(skip(
                f"cannot tell which interpreter `{pip_name}` ({pip['path']}) runs (a shim or wrapper script)",
                fix=f"{python_name} -m pip --version",
            ))
        elif same:
            checked.append(f"`{pip_name}` -> {pip['installs_into']}")
        else:
            findings.append(fail(
                f"`{pip_name}` ({pip['path']}) installs into {pip['installs_into']}, but `{python_name}` is "
                f"{python['path']}: packages you pip-install will not be importable",
                fix=f"{python_name} -m pip install PACKAGE   (always, instead of a bare `{pip_name} install`)",
                details=[f"{pip_name} runs {pip.get('interpreter')}", f"{python_name} belongs to {python.get('prefix')}"],
            ))
    if checked:
        findings.append(ok("pip on PATH matches python on PATH: " + ", ".join(checked)))
    return findings or None


@check("python.python_vs_python3", "python", "`python` and `python3` on PATH are the same interpreter", facts=("python",))
def python_vs_python3(facts: Facts) -> Finding | None:
    """`python` and `python3` install into different environments (warn); compared by real prefix, not
    by the spelling of the path (`~/bin/python -> /usr/bin/python3` is the same).

    Why: Tutorials mix the two names; packages land in one and scripts run with the other.

    Fix: Use one name, with `python -m pip`
    """
    on_path = facts.data("python").get("on_path") or {}
    python, python3 = on_path.get("python"), on_path.get("python3")
    if python is None and python3 is None:
        return warn("neither `python` nor `python3` is on PATH",
                       fix="Activate your environment (`conda activate NAME` or `source .venv/bin/activate`).")
    if python is None:
        return ok(f"only `python3` is on PATH ({python3['path']}); type python3, not python")
    if python3 is None:
        return ok(f"`python` is on PATH ({python['path']}); there is no `python3`")
    if _same_prefix(python.get("prefix"), python3.get("prefix")) or python["realpath"] == python3["realpath"]:
        return ok(f"`python` and `python3` are the same environment ({python['prefix']})")
    return warn(
        f"`python` ({python['path']}) and `python3` ({python3['path']}) are different interpreters: "
        "a script run with one does not see packages installed for the other",
        fix="Use one name consistently, and install with it: `python -m pip install ...`",
    )


@check("python.version_supported", "python", "The target Python version has current PyTorch wheels",
       facts=("python",))
def version_supported(facts: Facts) -> Finding | None:
    """Target Python below the newest torch release's range (fail without torch, warn with torch) or
    above it (warn). The range comes from `envcheck/knowledge/python_support.yaml` (3.10-3.14 for
    torch 2.14).

    Why: Torch 2.13/2.14 publish wheels for Python ≥ 3.10 and validate 3.10–3.14 (: pytorch
    RELEASE.md, test-infra release matrix, PyPI `requires_python`).

    Fix: `conda create -n torch python=3.12`
    """
    target = facts.data("python").get("target") or {}
    info = target.get("version_info")
    if not info:
        return None
    version = tuple(info[:2])
    shown = ".".join(str(p) for p in info)
    has_torch = "torch" in (target.get("distributions") or {})
    # The range of the newest torch release in knowledge/python_support.yaml (one place for it).
    torch, low, high = knowledge.newest_release_range()
    low_t, high_t = knowledge.major_minor(low), knowledge.major_minor(high)
    supported = f"torch {torch} (Python {low}-{high})"
    sources = ["Source: envcheck/knowledge/python_support.yaml: pytorch/pytorch RELEASE.md "
               "(https://github.com/pytorch/pytorch/blob/main/RELEASE.md), pytorch/test-infra release matrix."]
    fix = f"conda create -n torch python={high} && conda activate torch"
    if version < low_t:
        return Finding(
            "",
            Status.WARN if has_torch else Status.FAIL,
            f"Python {shown} is too old for current PyTorch ({supported})"
            + ("; the installed torch works but cannot be upgraded" if has_torch else ""),
            fix=fix, details=sources,
        )
    if version > high_t:
        return warn(f"Python {shown} is newer than what {supported} validates; wheels may be missing or experimental",
                    fix=fix, details=sources)
    return ok(f"Python {shown} is supported by {supported}")


@check("python.venv_in_conda", "python", "A virtualenv layered on a conda env (two package managers, one env)",
       facts=("python",))
def venv_in_conda(facts: Facts) -> Finding | None:
    """The target is a venv whose base interpreter is a conda env's Python (warn), decided from the
    target's real base prefix (a `conda-meta` folder there), not from `CONDA_PREFIX`: a venv made
    from pyenv's or the system's Python is not layered on conda just because a conda env is active.

    Why: `pip` installs into the venv, `conda install` into the conda env; each misses the other's
    packages.

    Fix: Use one of the two.
    """
    data = facts.data("python")
    target = data.get("target") or {}
    if not target.get("is_venv"):
        return None
    if not target.get("base_is_conda"):
        return None
    return warn(
        f"the target is a virtualenv ({target.get('prefix')}) created from a conda python ({target.get('base_prefix')}): "
        "`pip install` goes into the venv, `conda install` into the conda env, and each misses the other's packages",
        fix="Use one: `conda deactivate` before `source .venv/bin/activate`, or drop the venv and work in the conda env.",
    )


@check("python.user_site", "python", "Packages in ~/.local (user site) visible inside the environment",
       facts=("python",))
def user_site(facts: Facts) -> Finding | None:
    """Packages in `~/.local/lib/pythonX.Y/site-packages` that the target interpreter sees (OK, a note
    listing them). Whether one of them really wins over the environment's own copy is decided from
    the target's import order by `python.shadowing`, not here: a venv without system site packages
    never sees the user site at all.

    Why: The user site is shared by every interpreter of that Python version; in conda and system
    Pythons it comes before site-packages on `sys.path`.

    Fix: `export PYTHONNOUSERSITE=1` hides it from an environment.
    """
    data = facts.data("python")
    target = data.get("target") or {}
    if not target or data.get("target_error"):
        return None
    user_packages = target.get("user_site_distributions") or {}
    if not target.get("user_site_enabled"):
        return ok("the user site (~/.local) is disabled for this interpreter")
    if not user_packages:
        return ok(f"no packages in the user site {target.get('user_site')}")
    names = ", ".join(sorted(user_packages)[:12]) + (" ..." if len(user_packages) > 12 else "")
    shadowing = target.get("shadowed_by_user_site") or []
    details = [f"user-site packages: {names}"]
    if shadowing:
        details.append(f"{', '.join(shadowing)} shadow the environment's own copies: see python.shadowing")
    return ok(
        f"{len(user_packages)} package{'s' if len(user_packages) != 1 else ''} in the user site "
        f"{target.get('user_site')} {'are' if len(user_packages) != 1 else 'is'} visible to this interpreter",
        fix="export PYTHONNOUSERSITE=1   (in ~/.bashrc, to keep them out of every environment)",
        details=details,
    )


def _shell_lines(facts: Facts, name: str) -> list[dict]:
    """Start-up file lines that set NAME (from the shell collector), in files the shell reads."""
    lines = []
    for info in (facts.data("shell").get("files") or {}).values():
        if info.get("read") is False:
            continue
        lines.extend(a for a in info.get("assignments") or [] if a.get("name") == name)
    return lines


def _where(assignment: dict) -> str:
    name = os.path.basename(assignment.get("file") or "")
    return f"~/{name}:{assignment.get('line')}" if name.startswith(".") else f"{assignment.get('file')}:{assignment.get('line')}"


def _described(module: str, version: str | None, directory: str, origin: str) -> str:
    what = f"{module} {version}" if version else module
    where = {"pythonpath": f"$PYTHONPATH entry {directory}", "user_site": f"the user site {directory}",
             "env": directory}.get(origin, directory)
    return f"{what} from {where}"


def _unset_pythonpath_fix(facts: Facts) -> str:
    lines = _shell_lines(facts, "PYTHONPATH")
    if lines:
        where = "; ".join(f"line {a['line']} of {_where(a).rsplit(':', 1)[0]}: {a.get('text')}" for a in lines)
        return f"unset PYTHONPATH   (in this shell)\nthen delete or fix {where}"
    return ("unset PYTHONPATH   (in this shell)\nthen remove it where it is set (~/.bashrc, a job script, "
            "a `module load`); keep only your own source folders in it, never a site-packages")


@check("python.shadowing", "python",
       "torch/torchvision/numpy imported from PYTHONPATH or ~/.local instead of the environment", facts=("python", "shell"))
def shadowing(facts: Facts) -> Finding | list[Finding] | None:
    """Where `import` really finds torch, torchvision, numpy, pynvml and any package installed twice
    (pyinfo's `import_origins`: `importlib.util.find_spec` in the target, without importing). A key
    package (torch, torchvision, numpy) loaded from a `PYTHONPATH` entry or the user site
    (`~/.local`) while the environment has its own copy fails, naming both copies; the same with
    equal versions, another package, or a copy found only outside the environment warns.

    Why: The copy found first wins: the environment's torch 2.4 is installed and `pip list` shows it,
    but `import torch` loads an old 2.1 from `~/.local` or `$PYTHONPATH`, with its own CUDA build.

    Fix: `unset PYTHONPATH` and remove its line from `~/.bashrc`; `python -m pip uninstall torch`
    while the `~/.local` copy is the one pip finds; or `export PYTHONNOUSERSITE=1`
    """
    data = facts.data("python")
    target = data.get("target") or {}
    origins = target.get("import_origins")
    if not target or data.get("target_error") or origins is None:
        return None
    python = python_command(facts)
    findings = []
    for module in sorted(origins, key=lambda m: (m not in _KEY_MODULES, m)):
        found = origins[module] or {}
        origin = found.get("origin")
        if origin == "env" or origin is None:
            continue
        env_copies = [o for o in found.get("others") or [] if o.get("origin") == "env"]
        if origin == "other" and not env_copies:
            continue  # a project folder or an editable install, with no copy in the environment
        distribution = found.get("distribution") or module
        loaded = _described(module, found.get("version"), found.get("dir") or "?", origin)
        if origin == "pythonpath":
            fix = _unset_pythonpath_fix(facts)
        elif origin == "user_site":
            fix = (f"{python} -m pip uninstall {distribution}   (removes the copy in ~/.local: it is the one pip finds first)\n"
                   f"{python} -m pip show {distribution}   (Location must now be the environment's site-packages)\n"
                   "or hide the user site from this environment: export PYTHONNOUSERSITE=1")
        else:
            fix = (f"{python} -c 'import {module}; print({module}.__file__)'   (shows the folder that wins)\n"
                   f"remove {found.get('dir')} from sys.path: a .pth file in site-packages, the current folder, or a sys.path.insert")
        details = [f"import {module} loads {found.get('file')}"]
        if env_copies:
            hidden = env_copies[0]
            hidden_text = f"{module} {hidden.get('version')}" if hidden.get("version") else module
            same_version = hidden.get("version") and hidden.get("version") == found.get("version")
            summary = (f"{loaded} shadows {hidden_text} in {hidden.get('dir')}: `import {module}` never reaches "
                       "the environment's own copy")
            if same_version:
                summary += " (the same version today, so upgrades of the environment's copy have no effect)"
            serious = module in _KEY_MODULES and not same_version
            findings.append((fail if serious else warn)(summary, fix=fix, details=details))
            continue
        if origin == "pythonpath":
            install = f"{_unset_pythonpath_fix(facts)}\n{pip_install(facts, distribution)}"
        else:
            install = (f"{python} -m pip uninstall {distribution}   (the only copy, in ~/.local)\n"
                       f"{pip_install(facts, distribution)}")
        findings.append(warn(
            f"{loaded} is not installed in the environment itself: it is whatever that folder holds, for every "
            f"interpreter that sees it, and this environment's pip/conda do not manage it",
            fix=install, details=details,
        ))
    if findings:
        return findings
    seen = [m for m in _KEY_MODULES if m in origins]
    if not seen:
        return ok("torch, torchvision and numpy are not importable, so nothing shadows them")
    return ok(f"{', '.join(seen)} {'are' if len(seen) > 1 else 'is'} imported from the environment's own site-packages")


@check("python.pythonpath", "python", "PYTHONPATH/PYTHONHOME set (can shadow installed packages)", facts=("python", "shell"))
def pythonpath(facts: Facts) -> Finding | None:
    """`PYTHONHOME` set (warn); `PYTHONPATH` naming a folder with installed packages (someone's
    site-packages: warn); `PYTHONPATH` with only source folders (OK, a note). A package that
    `PYTHONPATH` really puts in front of the environment's is reported by `python.shadowing`.

    Why: Folders in `PYTHONPATH` come before site-packages for every interpreter, whatever its
    version; `PYTHONHOME` breaks other interpreters outright.

    Fix: `unset PYTHONPATH PYTHONHOME` and remove the export.
    """
    data = facts.data("python")
    if not data:
        return None
    if data.get("pythonhome"):
        return warn(
            f"PYTHONHOME={data['pythonhome']} is set: every other Python (conda envs, venvs) then looks for its "
            "standard library there and fails to start or mixes versions",
            fix="unset PYTHONHOME   (and remove the export from ~/.bashrc)",
        )
    if not data.get("pythonpath"):
        return ok("PYTHONPATH and PYTHONHOME are not set")
    entries = (data.get("target") or {}).get("pythonpath_entries") or []
    with_packages = [e for e in entries if e.get("distributions")]
    if with_packages:
        shown = "; ".join(f"{e['dir']} ({', '.join(e['distributions'][:5])}{' ...' if len(e['distributions']) > 5 else ''})"
                          for e in with_packages)
        return warn(
            f"PYTHONPATH={data['pythonpath']} includes installed packages ({shown}): they come before this "
            "environment's site-packages, in every environment and Python version",
            fix=_unset_pythonpath_fix(facts),
        )
    return ok(f"PYTHONPATH={data['pythonpath']} is set and holds no installed packages (source folders only)",
              details=["Its folders come before site-packages: a module there with a package's name would shadow it."])


@check("python.pip_available", "python", "pip can be run by the target interpreter (`python -m pip`)", facts=("python",))
def pip_available(facts: Facts) -> Finding | None:
    """The target has no pip (warn), except in a uv-made venv (a `uv = ` line in `pyvenv.cfg`) or a
    pixi env, which leave pip out by design and install with `uv pip`/`pixi add`.

    Why: `python -m pip install` fails.

    Fix: `python -m ensurepip --upgrade`; in a uv venv `uv pip install --python .venv/bin/python PACKAGE`
    """
    target = facts.data("python").get("target") or {}
    pip = target.get("pip")
    if not pip:
        return None
    if pip.get("importable"):
        return ok(f"pip {pip.get('version') or 'unknown'} is installed in the target")
    manager = target.get("env_manager")
    if manager == "uv":
        return ok("no pip in this uv venv (uv leaves it out by design): install with "
                  f"`{pip_install(facts, 'PACKAGE')}`")
    if manager == "pixi":
        return ok("no pip in this pixi env: add packages with `pixi add NAME` (or `pixi add --pypi NAME`)")
    return warn("the target interpreter has no pip: `python -m pip install` will fail",
                   fix=f"{target.get('executable')} -m ensurepip --upgrade")


@check("python.conda_pip_torch", "python", "torch installed with pip over conda's pytorch package in one env",
       facts=("python",))
def conda_pip_torch(facts: Facts) -> Finding | None:
    """A conda (or pixi) env whose `conda-meta` lists conda's `pytorch` (or `torchvision`) package while
    the installed torch's `dist-info/INSTALLER` says pip (or uv) (warn).

    Why: pip overwrote conda's files but conda still records its own pytorch: the next
    `conda install`/`update` may replace or half-remove pip's torch, and conda's CUDA packages
    (`pytorch-cuda`, `cudatoolkit`) no longer match what is imported.

    Fix: One package manager for torch: a fresh env, or `python -m pip uninstall torch` then
    `conda install --force-reinstall pytorch`
    """
    target = facts.data("python").get("target") or {}
    conda_packages = target.get("conda_packages") or {}
    installers = target.get("installers") or {}
    distributions = target.get("distributions") or {}
    if not target.get("is_conda"):
        return None
    clashes = []
    for conda_name, dist in (("pytorch", "torch"), ("torchvision", "torchvision")):
        installer = (installers.get(dist) or "").lower()
        if conda_name in conda_packages and installer in ("pip", "uv"):
            clashes.append((conda_name, dist, installer))
    if not clashes:
        if "pytorch" in conda_packages or "torch" in installers:
            return ok("torch is installed by one package manager only")
        return None
    python = python_command(facts)
    shown = "; ".join(f"{dist} {distributions.get(dist, '?')} installed by {installer} over conda's "
                      f"{conda_packages[conda_name]}" for conda_name, dist, installer in clashes)
    names = " ".join(dist for _, dist, _ in clashes)
    conda_names = " ".join(conda_name for conda_name, _, _ in clashes)
    env = target.get("prefix") or "this env"
    if target.get("env_manager") == "pixi":
        fix = (f"keep {names} in one table of pixi.toml: [dependencies] (conda's {conda_names}) or "
               "[pypi-dependencies], not both; then `pixi install`")
    else:
        fix = (f"best, a fresh env with one of the two: conda create -n NAME python={'.'.join(str(p) for p in (target.get('version_info') or [3, 12])[:2])}"
               f" && conda activate NAME && python -m pip install {names}\n"
               f"or go back to conda's: {python} -m pip uninstall {names} && conda install --force-reinstall {conda_names}")
    return warn(
        f"{shown} in {env}: conda still records its own package, so the next `conda install` or `conda update` "
        "can overwrite or half-remove pip's files",
        fix=fix,
        details=["conda-meta/ lists the conda package; the dist-info's INSTALLER file says who installed what is imported."],
    )


def _requirement_problems(target: dict) -> list[tuple[str, str, str]]:
    """(requiring distribution, requirement, problem) for `pip check`'s two findings, from metadata."""
    from packaging.markers import InvalidMarker, UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    distributions = target.get("distributions") or {}
    environment = dict(target.get("marker_environment") or {}, extra="")
    problems = []
    for name, lines in sorted((target.get("requires") or {}).items()):
        for line in lines:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is not None:
                try:
                    if not requirement.marker.evaluate(environment):
                        continue
                except (InvalidMarker, UndefinedEnvironmentName, ValueError, TypeError):
                    continue
            wanted = canonicalize_name(requirement.name)
            shown = f"{requirement.name}{requirement.specifier}"
            installed = distributions.get(wanted)
            if installed is None:
                problems.append((f"{name} {distributions.get(name, '')}".strip(), shown, "missing"))
                continue
            if not requirement.specifier:
                continue
            try:
                version = Version(installed)
            except InvalidVersion:
                continue
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append((f"{name} {distributions.get(name, '')}".strip(), shown, f"{wanted} {installed} is installed"))
    return problems


@check("python.broken_requirements", "python", "Installed packages whose requirements are missing or conflict (pip check)",
       facts=("python",))
def broken_requirements(facts: Facts) -> Finding | None:
    """What `pip check` would say, computed from each distribution's `Requires-Dist` lines (dumped by
    pyinfo) with `packaging`: a requirement whose markers apply to the target (Python version,
    platform; extras not requested are ignored) that is not installed or whose installed version is
    outside the range (warn).

    Why: pip installs one package at a time; a later `pip install torch==X` can leave torchvision or
    another package requiring a different torch: "operator torchvision::nms does not exist", import
    errors, or subtle breakage.

    Fix: `python -m pip install "torchvision==<the release for your torch>"`, or the pinned version;
    `python -m pip check` lists the same
    """
    target = facts.data("python").get("target") or {}
    if not target or target.get("requires") is None:
        return None
    problems = _requirement_problems(target)
    if not problems:
        return ok(f"the requirements of all {len(target.get('distributions') or {})} installed packages are met")
    lines = [f"{who} requires {requirement}, but " + ("it is not installed" if problem == "missing" else problem)
             for who, requirement, problem in problems]
    fixes = []
    for who, requirement, problem in problems[:3]:
        fixes.append(pip_install(facts, f'"{requirement}"'))
        if problem != "missing":
            fixes[-1] += f"   (or upgrade {who.split()[0]} to a release that accepts what is installed)"
    if target.get("is_conda"):
        fixes.append("in a conda env, prefer `conda install` for packages conda installed")
    return warn(
        f"{len(problems)} broken requirement{'s' if len(problems) != 1 else ''} among installed packages: "
        + "; ".join(lines[:3]) + (" ..." if len(lines) > 3 else ""),
        fix="\n".join(fixes),
        details=lines[:15] + ([f"... and {len(lines) - 15} more (`python -m pip check`)"] if len(lines) > 15 else []),
    )


@check("python.torch_installed", "python", "torch is installed in the target (details in the torch area)",
       facts=("python",))
def torch_installed(facts: Facts) -> Finding | None:
    """Whether torch is installed in the target (OK, or skip).

    Why: A pointer only; the torch area checks torch itself.

    Fix: –.
    """
    target = facts.data("python").get("target") or {}
    if not target.get("distributions"):
        return None
    version = target["distributions"].get("torch")
    if version:
        return ok(f"torch {version} is installed in the target (the torch area checks it)")
    return skip("torch is not installed in the target interpreter; the torch area says how to install it")
