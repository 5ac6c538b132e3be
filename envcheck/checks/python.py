"""Python checks: which interpreter is diagnosed, and whether `python`/`pip` on PATH are the ones
the user thinks they are."""

from __future__ import annotations

import os

from envcheck import knowledge
from envcheck.checks import check, fail, ok, skip, warn
from envcheck.core.model import Facts, Finding, Status



def _env_label(target: dict, conda: dict) -> str:
    if target.get("is_venv"):
        return f"virtualenv {target.get('prefix')}"
    if target.get("is_conda"):
        name = os.path.basename(target.get("prefix") or "") or "?"
        return f"conda env {name!r} ({target.get('prefix')})"
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
    """`CONDA_PREFIX` is set but `python` on `PATH` is outside it (fail).

    Why: Scripts run by another interpreter do not see the env's packages: "No module named torch"
    right after installing it.

    Fix: `conda deactivate && conda activate NAME`, `hash -r`, `which python`
    """
    data = facts.data("python")
    conda_prefix = (data.get("conda") or {}).get("prefix")
    if not conda_prefix:
        return None
    env_name = (data.get("conda") or {}).get("default_env") or os.path.basename(conda_prefix)
    on_path = (data.get("on_path") or {}).get("python") or (data.get("on_path") or {}).get("python3")
    if on_path is None:
        return fail(f"conda env {env_name!r} is active but no `python` is on PATH",
                       fix=f"conda activate {env_name}\nconda install -n {env_name} python")
    # Its own bin folder exactly: envs live under the base prefix, so "inside the prefix" would
    # wrongly accept envs/other/bin/python while base is active.
    if os.path.normpath(os.path.dirname(on_path["path"])) == os.path.normpath(os.path.join(conda_prefix, "bin")):
        return ok(f"conda env {env_name!r} is active and `python` is its own ({on_path['path']})")
    return fail(
        f"conda env {env_name!r} is active (CONDA_PREFIX={conda_prefix}) but `python` on PATH is "
        f"{on_path['path']}: scripts run outside the env and do not see its packages",
        fix=f"conda deactivate && conda activate {env_name}\nhash -r\nwhich python   # must print {conda_prefix}/bin/python",
        details=[
            "A PATH line in ~/.bashrc placed after the conda init block, or an alias, usually puts another python first; "
            "see the `shell` area.",
        ],
    )


def _same_environment(pip: dict, python: dict) -> bool | None:
    installs_into = pip.get("installs_into")
    if not installs_into:
        return None
    return os.path.normpath(installs_into) == os.path.normpath(python.get("prefix") or "")


@check("python.pip_matches_python", "python", "`pip` on PATH installs into the same environment as `python`",
       facts=("python",))
def pip_matches_python(facts: Facts) -> list[Finding] | Finding | None:
    """`pip`/`pip3` on `PATH` install into a different prefix than `python`/`python3` (fail); a pyenv
    shim is resolved with `pyenv which pip`; an asdf shim or another wrapper is reported as unknown.

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
    """`python` and `python3` are different interpreters (warn).

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
    if python["prefix"] == python3["prefix"] or python["realpath"] == python3["realpath"]:
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
    """The target is a venv whose base is a conda Python, or a venv used with a conda env active
    (warn).

    Why: `pip` installs into the venv, `conda install` into the conda env; each misses the other's
    packages.

    Fix: Use one of the two.
    """
    data = facts.data("python")
    target = data.get("target") or {}
    if not target.get("is_venv"):
        return None
    conda_prefix = (data.get("conda") or {}).get("prefix")
    if not (target.get("base_is_conda") or conda_prefix):
        return None
    return warn(
        f"the target is a virtualenv ({target.get('prefix')}) created from a conda python ({target.get('base_prefix')}): "
        "`pip install` goes into the venv, `conda install` into the conda env, and each misses the other's packages",
        fix="Use one: `conda deactivate` before `source .venv/bin/activate`, or drop the venv and work in the conda env.",
    )


@check("python.user_site", "python", "Packages in ~/.local (user site) leaking into or shadowing the environment",
       facts=("python",))
def user_site(facts: Facts) -> Finding | None:
    """Packages in `~/.local/lib/pythonX.Y/site-packages` visible inside a conda env/venv, and
    especially ones that shadow the env's own copy (warn).

    Why: The user site comes before site-packages on `sys.path`, for every env of that Python
    version: an old numpy in `~/.local` wins over the env's.

    Fix: `export PYTHONNOUSERSITE=1`, or move the user site away.
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
    shadowed = target.get("shadowed_by_user_site") or []
    names = ", ".join(sorted(user_packages)[:12]) + (" ..." if len(user_packages) > 12 else "")
    in_env = target.get("is_conda") or target.get("is_venv")
    if not shadowed and not in_env:
        return ok(f"{len(user_packages)} packages in the user site {target.get('user_site')}")
    summary = (
        f"packages in {target.get('user_site')} shadow the environment's own copies: {', '.join(shadowed)}"
        if shadowed
        else f"{len(user_packages)} packages from {target.get('user_site')} are visible inside the environment"
    )
    return warn(
        summary,
        fix=f"export PYTHONNOUSERSITE=1   (or move {target.get('user_site')} away)",
        details=[f"user-site packages: {names}", "User-site packages come before the environment on sys.path, for every env of that Python version."],
    )


@check("python.pythonpath", "python", "PYTHONPATH/PYTHONHOME set (can shadow installed packages)", facts=("python",))
def pythonpath(facts: Facts) -> Finding | None:
    """`PYTHONPATH` or `PYTHONHOME` set (warn).

    Why: Folders there come before site-packages and shadow installed packages; `PYTHONHOME` breaks
    other interpreters outright.

    Fix: `unset PYTHONPATH PYTHONHOME` and remove the export.
    """
    data = facts.data("python")
    if not data:
        return None
    findings_text = []
    if data.get("pythonpath"):
        findings_text.append(f"PYTHONPATH={data['pythonpath']}")
    if data.get("pythonhome"):
        findings_text.append(f"PYTHONHOME={data['pythonhome']}")
    if not findings_text:
        return ok("PYTHONPATH and PYTHONHOME are not set")
    return warn(
        f"{' and '.join(findings_text)} is set: folders there come before site-packages and can shadow installed packages",
        fix="unset PYTHONPATH PYTHONHOME   (and remove the export from ~/.bashrc)",
    )


@check("python.pip_available", "python", "pip can be run by the target interpreter (`python -m pip`)", facts=("python",))
def pip_available(facts: Facts) -> Finding | None:
    """The target has no pip (warn).

    Why: `python -m pip install` fails.

    Fix: `python -m ensurepip --upgrade`
    """
    target = facts.data("python").get("target") or {}
    pip = target.get("pip")
    if not pip:
        return None
    if pip.get("importable"):
        return ok(f"pip {pip.get('version') or 'unknown'} is installed in the target")
    return warn("the target interpreter has no pip: `python -m pip install` will fail",
                   fix=f"{target.get('executable')} -m ensurepip --upgrade")


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
