"""Python checks: which interpreter is diagnosed, and whether `python`/`pip` on PATH are the ones
the user thinks they are.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through _()
or ngettext(), the descriptions are marked with N_(); paths, commands, package names and versions
are placeholders or stay literally inside the message. An environment's label (`_env_label`) is a
translated noun phrase put into the sentences that name it.
"""

from __future__ import annotations

import os

from envcheck import knowledge
from envcheck.checks import check, fail, ok, skip, warn
from envcheck.checks._commands import pip_install, python_command
from envcheck.core.model import Facts, Finding, Status
from envcheck.i18n import N_, _, join, join_clauses, ngettext

# Packages whose shadowing breaks training outright (FAIL); any other shadowed package is a warning.
_KEY_MODULES = ("torch", "torchvision", "numpy")
_MANAGER_LABEL = {"uv": N_("uv venv {prefix}"), "venv": N_("virtualenv {prefix}"), "virtualenv": N_("virtualenv {prefix}"),
                  "pixi": N_("pixi env {prefix}"), "pyenv": N_("pyenv interpreter {prefix}"),
                  "system": N_("system interpreter {prefix}")}


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
        return _("conda env {name} ({prefix})").format(name=repr(name), prefix=target.get("prefix"))
    if manager in _MANAGER_LABEL:
        return _(_MANAGER_LABEL[manager]).format(prefix=target.get("prefix"))
    if target.get("is_venv"):
        return _("virtualenv {prefix}").format(prefix=target.get("prefix"))
    return _("system/base interpreter ({prefix})").format(prefix=target.get("prefix"))


@check("python.target", "python", N_("Which interpreter is diagnosed, and whether it could be inspected"), facts=("python",))
def target_interpreter(facts: Facts) -> Finding:
    """Which interpreter is diagnosed and what kind of environment it is; fails when it cannot be run,
    is not Python, or times out.

    Why: Every other Python/torch fact is about this interpreter.

    Fix: `envcheck doctor --python ~/miniconda3/envs/NAME/bin/python`
    """
    data = facts.data("python")
    if not data:
        return fail(_("the Python facts could not be collected: {error}").format(error=facts.error("python") or _("unknown")),
                    fix=_("Run {command} to see why, and report it as an envcheck bug.").format(
                        command="`envcheck doctor -v`"))
    target = data.get("target") or {}
    if data.get("target_error"):
        return fail(
            _("cannot inspect the target interpreter: {error}").format(error=data["target_error"]),
            fix=_("Point envcheck at a working interpreter: {command}.").format(
                command="`envcheck doctor --python ~/miniconda3/envs/NAME/bin/python`"),
        )
    running = data.get("running") or {}
    details = [_("envcheck itself runs under {executable} ({version})").format(
        executable=running.get("executable"), version=running.get("version"))]
    if target.get("site_packages"):
        details.append("site-packages: " + join(target["site_packages"]))
    return ok(
        _("diagnosing {executable} (Python {version}, {implementation}) in the {environment}").format(
            executable=target.get("executable"), version=target.get("version"),
            implementation=target.get("implementation"), environment=_env_label(target, data.get("conda") or {})),
        details=details,
    )


@check("python.conda_active_python", "python", N_("With a conda env active, `python` on PATH is that env's python"),
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
        return fail(_("conda env {name} is active but no {python} is on PATH").format(name=repr(env_name), python="`python`"),
                    fix=f"conda activate {env_name}\nconda install -n {env_name} python")
    conda_real = conda.get("prefix_real") or conda_prefix
    if _same_prefix(on_path.get("prefix"), conda_real) or \
            os.path.normpath(os.path.dirname(on_path["path"])) == os.path.normpath(os.path.join(conda_prefix, "bin")):
        return ok(_("conda env {name} is active and {python} is its own ({path})").format(
            name=repr(env_name), python="`python`", path=on_path["path"]))
    target = data.get("target") or {}
    target_is_path_python = _same_prefix(_target_prefix(target), on_path.get("prefix"))
    is_base = env_name == "base" or os.path.basename(os.path.dirname(os.path.normpath(conda_prefix))) != "envs"
    if is_base and target_is_path_python and not target.get("is_conda"):
        return ok(
            _("conda's base env is set in this shell ({variable}), but {python} on PATH is {path} ({environment}), the "
              "interpreter diagnosed: conda is not in use for it").format(
                variable=f"CONDA_PREFIX={conda_prefix}", python="`python`", path=on_path["path"],
                environment=_env_label(target, conda)),
            details=[_("{init} activates base in every new shell; if you never use conda's python, {command} stops "
                       "that.").format(init="`conda init`", command="`conda config --set auto_activate_base false`")],
        )
    return fail(
        _("conda env {name} is active ({variable}) but {python} on PATH is {path} (environment {prefix}): scripts run "
          "outside the env and do not see its packages").format(
            name=repr(env_name), variable=f"CONDA_PREFIX={conda_prefix}", python="`python`", path=on_path["path"],
            prefix=on_path.get("prefix")),
        fix=_("{commands}   # must print {path}").format(
            commands=f"conda deactivate && conda activate {env_name}\nhash -r\nwhich python",
            path=f"{conda_prefix}/bin/python"),
        details=[
            _("A PATH line in ~/.bashrc placed after the conda init block, or an alias, usually puts another python "
              "first; see the {area} area.").format(area="`shell`"),
        ],
    )


def _same_environment(pip: dict, python: dict) -> bool | None:
    # Both prefixes come from python_env.prefix_of: the environment each installs into, links resolved.
    installs_into = pip.get("installs_into")
    if not installs_into:
        return None
    return _same_prefix(installs_into, python.get("prefix"))


@check("python.pip_matches_python", "python", N_("`pip` on PATH installs into the same environment as `python`"),
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
                _("cannot tell which interpreter {pip} ({path}) runs (a shim or wrapper script)").format(
                    pip=f"`{pip_name}`", path=pip["path"]),
                fix=f"{python_name} -m pip --version",
            ))
        elif same:
            checked.append(f"`{pip_name}` -> {pip['installs_into']}")
        else:
            findings.append(fail(
                _("{pip} ({pip_path}) installs into {prefix}, but {python} is {python_path}: packages you pip-install "
                  "will not be importable").format(pip=f"`{pip_name}`", pip_path=pip["path"], prefix=pip["installs_into"],
                                                   python=f"`{python_name}`", python_path=python["path"]),
                fix=_("{command}   (always, instead of a bare {bare})").format(
                    command=f"{python_name} -m pip install PACKAGE", bare=f"`{pip_name} install`"),
                details=[_("{pip} runs {interpreter}").format(pip=pip_name, interpreter=pip.get("interpreter")),
                         _("{python} belongs to {prefix}").format(python=python_name, prefix=python.get("prefix"))],
            ))
    if checked:
        findings.append(ok(_("pip on PATH matches python on PATH: {pairs}").format(pairs=join(checked))))
    return findings or None


@check("python.python_vs_python3", "python", N_("`python` and `python3` on PATH are the same interpreter"), facts=("python",))
def python_vs_python3(facts: Facts) -> Finding | None:
    """`python` and `python3` install into different environments (warn); compared by real prefix, not
    by the spelling of the path (`~/bin/python -> /usr/bin/python3` is the same).

    Why: Tutorials mix the two names; packages land in one and scripts run with the other.

    Fix: Use one name, with `python -m pip`
    """
    on_path = facts.data("python").get("on_path") or {}
    python, python3 = on_path.get("python"), on_path.get("python3")
    if python is None and python3 is None:
        return warn(_("neither {python} nor {python3} is on PATH").format(python="`python`", python3="`python3`"),
                    fix=_("Activate your environment ({conda} or {venv}).").format(
                        conda="`conda activate NAME`", venv="`source .venv/bin/activate`"))
    if python is None:
        return ok(_("only {python3} is on PATH ({path}); type python3, not python").format(
            python3="`python3`", path=python3["path"]))
    if python3 is None:
        return ok(_("{python} is on PATH ({path}); there is no {python3}").format(
            python="`python`", path=python["path"], python3="`python3`"))
    if _same_prefix(python.get("prefix"), python3.get("prefix")) or python["realpath"] == python3["realpath"]:
        return ok(_("{python} and {python3} are the same environment ({prefix})").format(
            python="`python`", python3="`python3`", prefix=python["prefix"]))
    return warn(
        _("{python} ({python_path}) and {python3} ({python3_path}) are different interpreters: a script run with one "
          "does not see packages installed for the other").format(
            python="`python`", python_path=python["path"], python3="`python3`", python3_path=python3["path"]),
        fix=_("Use one name consistently, and install with it: {command}").format(command="`python -m pip install ...`"),
    )


@check("python.version_supported", "python", N_("The target Python version has current PyTorch wheels"),
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
    sources = [_("Source: {file}: {release} ({url}), {matrix}.").format(
        file="envcheck/knowledge/python_support.yaml", release="pytorch/pytorch RELEASE.md",
        url="https://github.com/pytorch/pytorch/blob/main/RELEASE.md", matrix="pytorch/test-infra release matrix")]
    fix = f"conda create -n torch python={high} && conda activate torch"
    if version < low_t:
        if has_torch:
            summary = _("Python {version} is too old for current PyTorch ({supported}); the installed torch works but "
                        "cannot be upgraded")
        else:
            summary = _("Python {version} is too old for current PyTorch ({supported})")
        return Finding(
            "",
            Status.WARN if has_torch else Status.FAIL,
            summary.format(version=shown, supported=supported),
            fix=fix, details=sources,
        )
    if version > high_t:
        return warn(_("Python {version} is newer than what {supported} validates; wheels may be missing or "
                      "experimental").format(version=shown, supported=supported),
                    fix=fix, details=sources)
    return ok(_("Python {version} is supported by {supported}").format(version=shown, supported=supported))


@check("python.venv_in_conda", "python", N_("A virtualenv layered on a conda env (two package managers, one env)"),
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
        _("the target is a virtualenv ({prefix}) created from a conda python ({base}): {pip} goes into the venv, {conda} "
          "into the conda env, and each misses the other's packages").format(
            prefix=target.get("prefix"), base=target.get("base_prefix"), pip="`pip install`", conda="`conda install`"),
        fix=_("Use one: {deactivate} before {activate}, or drop the venv and work in the conda env.").format(
            deactivate="`conda deactivate`", activate="`source .venv/bin/activate`"),
    )


@check("python.user_site", "python", N_("Packages in ~/.local (user site) visible inside the environment"),
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
        return ok(_("the user site (~/.local) is disabled for this interpreter"))
    if not user_packages:
        return ok(_("no packages in the user site {folder}").format(folder=target.get("user_site")))
    names = join(sorted(user_packages)[:12]) + (" ..." if len(user_packages) > 12 else "")
    shadowing = target.get("shadowed_by_user_site") or []
    details = [_("user-site packages: {names}").format(names=names)]
    if shadowing:
        details.append(_("{names} shadow the environment's own copies: see {check}").format(
            names=join(shadowing), check="python.shadowing"))
    return ok(
        ngettext("{count} package in the user site {folder} is visible to this interpreter",
                 "{count} packages in the user site {folder} are visible to this interpreter", len(user_packages)).format(
            count=len(user_packages), folder=target.get("user_site")),
        fix=_("{command}   (in ~/.bashrc, to keep them out of every environment)").format(
            command="export PYTHONNOUSERSITE=1"),
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


def _unset_pythonpath_fix(facts: Facts) -> str:
    lines = _shell_lines(facts, "PYTHONPATH")
    if lines:
        where = join_clauses(_("line {line} of {file}: {text}").format(
            line=a["line"], file=_where(a).rsplit(":", 1)[0], text=a.get("text")) for a in lines)
        return _("{command}   (in this shell)\nthen delete or fix {lines}").format(command="unset PYTHONPATH", lines=where)
    return _("{command}   (in this shell)\nthen remove it where it is set (~/.bashrc, a job script, a {module_load}); "
             "keep only your own source folders in it, never a site-packages").format(
        command="unset PYTHONPATH", module_load="`module load`")


@check("python.shadowing", "python",
       N_("torch/torchvision/numpy imported from PYTHONPATH or ~/.local instead of the environment"), facts=("python", "shell"))
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
        version = found.get("version")
        what = f"{module} {version}" if version else module
        folder = found.get("dir") or "?"
        if origin == "pythonpath":
            fix = _unset_pythonpath_fix(facts)
        elif origin == "user_site":
            fix = "\n".join([
                _("{command}   (removes the copy in ~/.local: it is the one pip finds first)").format(
                    command=f"{python} -m pip uninstall {distribution}"),
                _("{command}   (Location must now be the environment's site-packages)").format(
                    command=f"{python} -m pip show {distribution}"),
                _("or hide the user site from this environment: {command}").format(command="export PYTHONNOUSERSITE=1")])
        else:
            fix = "\n".join([
                _("{command}   (shows the folder that wins)").format(
                    command=f"{python} -c 'import {module}; print({module}.__file__)'"),
                _("remove {folder} from sys.path: a .pth file in site-packages, the current folder, or a {call}").format(
                    folder=found.get("dir"), call="sys.path.insert")])
        details = [_("{statement} loads {file}").format(statement=f"import {module}", file=found.get("file"))]
        if env_copies:
            hidden = env_copies[0]
            hidden_text = f"{module} {hidden.get('version')}" if hidden.get("version") else module
            same_version = hidden.get("version") and hidden.get("version") == found.get("version")
            summary = _SHADOWS[(origin if origin in ("pythonpath", "user_site") else "other", bool(same_version))]
            summary = _(summary).format(what=what, folder=folder, hidden=hidden_text, hidden_folder=hidden.get("dir"),
                                        statement=f"`import {module}`")
            serious = module in _KEY_MODULES and not same_version
            findings.append((fail if serious else warn)(summary, fix=fix, details=details))
            continue
        if origin == "pythonpath":
            install = f"{_unset_pythonpath_fix(facts)}\n{pip_install(facts, distribution)}"
            summary = _("{what} from $PYTHONPATH entry {folder} is not installed in the environment itself: it is "
                        "whatever that folder holds, for every interpreter that sees it, and this environment's pip/conda "
                        "do not manage it")
        else:
            install = "\n".join([_("{command}   (the only copy, in ~/.local)").format(
                command=f"{python} -m pip uninstall {distribution}"), pip_install(facts, distribution)])
            summary = _("{what} from the user site {folder} is not installed in the environment itself: it is whatever "
                        "that folder holds, for every interpreter that sees it, and this environment's pip/conda do not "
                        "manage it")
        findings.append(warn(summary.format(what=what, folder=folder), fix=install, details=details))
    if findings:
        return findings
    seen = [m for m in _KEY_MODULES if m in origins]
    if not seen:
        return ok(_("torch, torchvision and numpy are not importable, so nothing shadows them"))
    return ok(ngettext("{modules} is imported from the environment's own site-packages",
                       "{modules} are imported from the environment's own site-packages", len(seen)).format(
        modules=join(seen)))


# python.shadowing's summary: (where the winning copy comes from, the same version as the hidden one).
_SHADOWS = {
    ("pythonpath", False): N_("{what} from $PYTHONPATH entry {folder} shadows {hidden} in {hidden_folder}: {statement} "
                              "never reaches the environment's own copy"),
    ("pythonpath", True): N_("{what} from $PYTHONPATH entry {folder} shadows {hidden} in {hidden_folder}: {statement} "
                             "never reaches the environment's own copy (the same version today, so upgrades of the "
                             "environment's copy have no effect)"),
    ("user_site", False): N_("{what} from the user site {folder} shadows {hidden} in {hidden_folder}: {statement} never "
                             "reaches the environment's own copy"),
    ("user_site", True): N_("{what} from the user site {folder} shadows {hidden} in {hidden_folder}: {statement} never "
                            "reaches the environment's own copy (the same version today, so upgrades of the "
                            "environment's copy have no effect)"),
    ("other", False): N_("{what} from {folder} shadows {hidden} in {hidden_folder}: {statement} never reaches the "
                         "environment's own copy"),
    ("other", True): N_("{what} from {folder} shadows {hidden} in {hidden_folder}: {statement} never reaches the "
                        "environment's own copy (the same version today, so upgrades of the environment's copy have no "
                        "effect)"),
}


@check("python.pythonpath", "python", N_("PYTHONPATH/PYTHONHOME set (can shadow installed packages)"), facts=("python", "shell"))
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
            _("{assignment} is set: every other Python (conda envs, venvs) then looks for its standard library there and "
              "fails to start or mixes versions").format(assignment=f"PYTHONHOME={data['pythonhome']}"),
            fix=_("{command}   (and remove the export from ~/.bashrc)").format(command="unset PYTHONHOME"),
        )
    if not data.get("pythonpath"):
        return ok(_("PYTHONPATH and PYTHONHOME are not set"))
    entries = (data.get("target") or {}).get("pythonpath_entries") or []
    with_packages = [e for e in entries if e.get("distributions")]
    if with_packages:
        shown = join_clauses(f"{e['dir']} ({join(e['distributions'][:5])}{' ...' if len(e['distributions']) > 5 else ''})"
                          for e in with_packages)
        return warn(
            _("{assignment} includes installed packages ({packages}): they come before this environment's site-packages, "
              "in every environment and Python version").format(
                assignment=f"PYTHONPATH={data['pythonpath']}", packages=shown),
            fix=_unset_pythonpath_fix(facts),
        )
    return ok(_("{assignment} is set and holds no installed packages (source folders only)").format(
                  assignment=f"PYTHONPATH={data['pythonpath']}"),
              details=[_("Its folders come before site-packages: a module there with a package's name would shadow it.")])


@check("python.pip_available", "python", N_("pip can be run by the target interpreter (`python -m pip`)"), facts=("python",))
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
        return ok(_("pip {version} is installed in the target").format(version=pip.get("version") or _("unknown")))
    manager = target.get("env_manager")
    if manager == "uv":
        return ok(_("no pip in this uv venv (uv leaves it out by design): install with {command}").format(
            command=f"`{pip_install(facts, 'PACKAGE')}`"))
    if manager == "pixi":
        return ok(_("no pip in this pixi env: add packages with {command} (or {pypi})").format(
            command="`pixi add NAME`", pypi="`pixi add --pypi NAME`"))
    return warn(_("the target interpreter has no pip: {command} will fail").format(command="`python -m pip install`"),
                fix=f"{target.get('executable')} -m ensurepip --upgrade")


@check("python.conda_pip_torch", "python", N_("torch installed with pip over conda's pytorch package in one env"),
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
            return ok(_("torch is installed by one package manager only"))
        return None
    python = python_command(facts)
    shown = join_clauses(_("{package} {version} installed by {installer} over conda's {conda_package}").format(
        package=dist, version=distributions.get(dist, "?"), installer=installer, conda_package=conda_packages[conda_name])
        for conda_name, dist, installer in clashes)
    names = " ".join(dist for _n, dist, _i in clashes)
    conda_names = " ".join(conda_name for conda_name, _d, _i in clashes)
    if target.get("env_manager") == "pixi":
        fix = _("keep {packages} in one table of pixi.toml: {dependencies} (conda's {conda_packages}) or {pypi}, not "
                "both; then {command}").format(packages=names, dependencies="[dependencies]", conda_packages=conda_names,
                                               pypi="[pypi-dependencies]", command="`pixi install`")
    else:
        python_version = ".".join(str(p) for p in (target.get("version_info") or [3, 12])[:2])
        fix = _("best, a fresh env with one of the two: {create}\nor go back to conda's: {restore}").format(
            create=f"conda create -n NAME python={python_version} && conda activate NAME && python -m pip install {names}",
            restore=f"{python} -m pip uninstall {names} && conda install --force-reinstall {conda_names}")
    commands = {"install": "`conda install`", "update": "`conda update`"}
    if target.get("prefix"):
        summary = _("{clashes} in {prefix}: conda still records its own package, so the next {install} or {update} can "
                    "overwrite or half-remove pip's files").format(clashes=shown, prefix=target["prefix"], **commands)
    else:
        summary = _("{clashes} in this env: conda still records its own package, so the next {install} or {update} can "
                    "overwrite or half-remove pip's files").format(clashes=shown, **commands)
    return warn(
        summary,
        fix=fix,
        details=[_("{folder} lists the conda package; the dist-info's INSTALLER file says who installed what is "
                   "imported.").format(folder="conda-meta/")],
    )


def _requirement_problems(target: dict) -> list[tuple[str, str, str]]:
    """(requiring distribution, requirement, installed) for `pip check`'s two findings, from metadata:
    installed is None for a missing requirement, else the "name version" installed outside its range."""
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
                problems.append((f"{name} {distributions.get(name, '')}".strip(), shown, None))
                continue
            if not requirement.specifier:
                continue
            try:
                version = Version(installed)
            except InvalidVersion:
                continue
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append((f"{name} {distributions.get(name, '')}".strip(), shown, f"{wanted} {installed}"))
    return problems


@check("python.broken_requirements", "python", N_("Installed packages whose requirements are missing or conflict (pip check)"),
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
        return ok(_("the requirements of all {count} installed packages are met").format(
            count=len(target.get("distributions") or {})))
    lines = [(_("{who} requires {requirement}, but it is not installed") if installed is None else
              _("{who} requires {requirement}, but {installed} is installed")).format(
                 who=who, requirement=requirement, installed=installed)
             for who, requirement, installed in problems]
    fixes = []
    for who, requirement, installed in problems[:3]:
        command = pip_install(facts, f'"{requirement}"')
        if installed is None:
            fixes.append(command)
        else:
            fixes.append(_("{command}   (or upgrade {package} to a release that accepts what is installed)").format(
                command=command, package=who.split()[0]))
    if target.get("is_conda"):
        fixes.append(_("in a conda env, prefer {command} for packages conda installed").format(command="`conda install`"))
    return warn(
        ngettext("{count} broken requirement among installed packages: {problems}",
                 "{count} broken requirements among installed packages: {problems}", len(problems)).format(
            count=len(problems), problems=join_clauses(lines[:3]) + (" ..." if len(lines) > 3 else "")),
        fix="\n".join(fixes),
        details=lines[:15] + ([_("... and {count} more ({command})").format(
            count=len(lines) - 15, command="`python -m pip check`")] if len(lines) > 15 else []),
    )


@check("python.torch_installed", "python", N_("torch is installed in the target (details in the torch area)"),
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
        return ok(_("torch {version} is installed in the target (the torch area checks it)").format(version=version))
    return skip(_("torch is not installed in the target interpreter; the torch area says how to install it"))
