"""Issue #9: no false alarms, and shadowing as the root cause.

One test per class of false alarm a user test found (each would fail on the code before the fix),
plus the checks added with them: python.shadowing, python.conda_pip_torch,
python.broken_requirements, system.open_files_limit, and the env_manager/import_origins facts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.checks import all_checks, run_checks
from envcheck.checks._commands import pip_install
from envcheck.core.context import Context
from envcheck.core.model import Facts, Status
from envcheck.facts.paths import collect_paths
from envcheck.facts.python_env import PYINFO, collect_python, prefix_of
from envcheck.facts.shell import collect_shell
from envcheck.facts.system import collect_system

SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")
BAD = (Status.WARN, Status.FAIL)


def run(facts: Facts, check_id: str):
    return run_checks([all_checks()[check_id]], facts)


def only(findings):
    assert len(findings) == 1, findings
    return findings[0]


def area_problems(facts: Facts, *areas: str) -> list:
    checks = [c for c in all_checks().values() if c.area in areas]
    return [f for f in run_checks(checks, facts) if f.status in BAD]


def make_executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def make_ctx(env: dict, tmp_path: Path, **kwargs) -> Context:
    return Context(env=env, home=Path(env["HOME"]), cwd=tmp_path, **kwargs)


def load_pyinfo():
    spec = importlib.util.spec_from_file_location("pyinfo_under_test", PYINFO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_distribution(site: Path, name: str, version: str, module: str | None = None, installer: str | None = None,
                      requires: tuple[str, ...] = ()) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"] + [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    if installer:
        (info / "INSTALLER").write_text(installer + "\n")
    module = module if module is not None else name.replace("-", "_")
    (site / module).mkdir(parents=True, exist_ok=True)
    (site / module / "__init__.py").write_text(f"__version__ = {version!r}\n")


# --- 1. interpreters are compared as environments, not by the spelling of their path ---------------


@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="no /usr/bin/python3")
def test_prefix_of_is_the_prefix_python_really_gets(tmp_path):
    # ~/bin/python -> /usr/bin/python3: the old rule (folder resolved, file not) said the home folder.
    link = tmp_path / "home/bin/python"
    link.parent.mkdir(parents=True)
    os.symlink(SYSTEM_PYTHON, link)
    # A venv's python links to the base interpreter, yet it is the venv (pyvenv.cfg next to bin/).
    venv_python = Path(sys.executable)
    for executable in (link, venv_python):
        real = subprocess.run([str(executable), "-c", "import sys; print(sys.prefix)"], capture_output=True,
                              text=True, timeout=30).stdout.strip()
        assert prefix_of(str(executable)) == os.path.realpath(real), executable


@pytest.mark.skipif(SYSTEM_PYTHON is None or not Path("/usr/bin/pip3").exists(), reason="needs /usr/bin/python3 and pip3")
def test_home_bin_python_linked_to_the_system_python_is_one_environment(tmp_path, clean_env):
    home = Path(clean_env["HOME"])
    (home / "bin").mkdir()
    os.symlink(SYSTEM_PYTHON, home / "bin/python")
    env = dict(clean_env, PATH=f"{home}/bin:/usr/bin:/bin")
    data = collect_python(make_ctx(env, tmp_path, python=SYSTEM_PYTHON))
    assert data["on_path"]["python"]["prefix"] == os.path.realpath("/usr")
    facts = Facts.of(python=data)
    for check_id in ("python.python_vs_python3", "python.pip_matches_python"):
        assert not [f for f in run(facts, check_id) if f.status in BAD], check_id


def test_conda_env_reached_through_a_symlink_is_its_own_python(tmp_path, clean_env):
    home = Path(clean_env["HOME"])
    env_dir = home / "miniconda3/envs/dl"
    make_executable(env_dir / "bin/python3.11")
    os.symlink("python3.11", env_dir / "bin/python")
    (env_dir / "conda-meta").mkdir()
    os.symlink(env_dir, home / "dl")  # CONDA_PREFIX spelled through another link
    os.symlink(env_dir / "bin/python", home / "python-dl")
    (home / "bin").mkdir()
    os.symlink(env_dir / "bin/python", home / "bin/python")
    env = dict(clean_env, PATH=f"{home}/bin:/usr/bin:/bin", CONDA_PREFIX=str(home / "dl"), CONDA_DEFAULT_ENV="dl")
    data = collect_python(make_ctx(env, tmp_path, python=sys.executable))
    finding = only(run(Facts.of(python=data), "python.conda_active_python"))
    assert finding.status is Status.OK, finding


# --- 2. "a conda python" is decided by the target's real prefix, not by CONDA_PREFIX --------------------


def python_data(target: dict, conda_prefix: str | None = None, default_env: str | None = None, on_path=None) -> dict:
    return {
        "target": target, "target_error": None, "running": {"executable": "/usr/bin/python3", "version": "3.11"},
        "on_path": on_path or {}, "conda": {"prefix": conda_prefix, "prefix_real": conda_prefix,
                                            "default_env": default_env, "exe": None, "shlvl": "1"},
        "virtual_env": None, "pythonpath": None, "pythonnousersite": None, "pythonhome": None,
    }


PYENV = "/home/u/.pyenv/versions/3.11.9"


def pyenv_target(**overrides) -> dict:
    base = {"executable": f"{PYENV}/bin/python", "prefix": PYENV, "prefix_real": PYENV, "base_prefix": PYENV,
            "is_venv": False, "is_conda": False, "base_is_conda": False, "env_manager": "pyenv",
            "version_info": [3, 11, 9], "distributions": {"torch": "2.4.1"}}
    base.update(overrides)
    return base


def test_conda_base_set_while_the_pyenv_python_is_used_is_not_a_failure():
    on_path = {"python": {"path": "/home/u/.pyenv/shims/python", "realpath": f"{PYENV}/bin/python3.11",
                          "prefix": PYENV, "pyenv_shim_for": f"{PYENV}/bin/python"}}
    base = python_data(pyenv_target(), conda_prefix="/home/u/miniconda3", default_env="base", on_path=on_path)
    finding = only(run(Facts.of(python=base), "python.conda_active_python"))
    assert finding.status is Status.OK and "auto_activate_base" in finding.details[0]
    # A named env activated on purpose while another python wins on PATH is still the failure.
    named = python_data(pyenv_target(), conda_prefix="/home/u/miniconda3/envs/dl", default_env="dl", on_path=on_path)
    assert only(run(Facts.of(python=named), "python.conda_active_python")).status is Status.FAIL


def test_a_venv_from_pyenv_with_conda_active_is_not_layered_on_conda():
    venv = pyenv_target(prefix="/home/u/proj/.venv", prefix_real="/home/u/proj/.venv", is_venv=True,
                        env_manager="venv", base_prefix=PYENV)
    data = python_data(venv, conda_prefix="/home/u/miniconda3", default_env="base")
    assert run(Facts.of(python=data), "python.venv_in_conda") == []
    assert "conda" not in only(run(Facts.of(python=data), "python.target")).summary
    layered = dict(venv, base_is_conda=True, base_prefix="/home/u/miniconda3")
    assert only(run(Facts.of(python=python_data(layered)), "python.venv_in_conda")).status is Status.WARN


# --- 3. Debian's default ~/.profile and the login file bash really reads ---------------------------------

# Written anew with the structure of Debian's /etc/skel files: PATH lines guarded by `if [ -d ... ]`.
DEBIAN_PROFILE = """\
# ~/.profile: executed by the command interpreter for login shells.
# Not read by bash(1) if ~/.bash_profile or ~/.bash_login exists.

#umask 022

# when running bash, include .bashrc if it exists
if [ -n "$BASH_VERSION" ]; then
    if [ -f "$HOME/.bashrc" ]; then
        . "$HOME/.bashrc"
    fi
fi

# set PATH so it includes the user's private bin if it exists
if [ -d "$HOME/bin" ] ; then
    PATH="$HOME/bin:$PATH"
fi

# the same for ~/.local/bin
if [ -d "$HOME/.local/bin" ] ; then
    PATH="$HOME/.local/bin:$PATH"
fi
"""

DEBIAN_BASHRC = """\
# ~/.bashrc: executed by bash(1) for non-login shells.

# If not running interactively, don't do anything
case $- in
    *i*) ;;
      *) return;;
esac

HISTCONTROL=ignoreboth
shopt -s histappend
HISTSIZE=1000
HISTFILESIZE=2000
shopt -s checkwinsize

if [ -z "${debian_chroot:-}" ] && [ -r /etc/debian_chroot ]; then
    debian_chroot=$(cat /etc/debian_chroot)
fi

if [ -x /usr/bin/dircolors ]; then
    test -r ~/.dircolors && eval "$(dircolors -b ~/.dircolors)" || eval "$(dircolors -b)"
    alias ls='ls --color=auto'
fi

alias ll='ls -alF'

if [ -f ~/.bash_aliases ]; then
    . ~/.bash_aliases
fi

if ! shopt -oq posix; then
  if [ -f /usr/share/bash-completion/bash_completion ]; then
    . /usr/share/bash-completion/bash_completion
  elif [ -f /etc/bash_completion ]; then
    . /etc/bash_completion
  fi
fi
"""

# Ubuntu's /etc/environment PATH: /snap/bin and the games folders are missing on many servers (and here).
UBUNTU_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games:/snap/bin"


def test_clean_debian_home_gives_no_warning_from_shell_and_path_checks(tmp_path, clean_env):
    home = Path(clean_env["HOME"])
    (home / ".profile").write_text(DEBIAN_PROFILE)
    (home / ".bashrc").write_text(DEBIAN_BASHRC)
    env = dict(clean_env, SHELL="/bin/bash", PATH=UBUNTU_PATH)
    ctx = make_ctx(env, tmp_path)
    facts = Facts.of(shell=collect_shell(ctx), paths=collect_paths(ctx))
    assert area_problems(facts, "shell", "path") == []
    # The guarded lines were seen, and are marked as such.
    profile = facts.data("shell")["files"][".profile"]
    assert [a["line"] for a in profile["assignments"]] == [15, 20]
    assert all(part["guarded"] and part["exists"] is False for a in profile["assignments"] for part in a["parts"])
    # A folder no default names, missing from PATH, is still reported.
    assert only(run(Facts.of(paths=collect_paths(make_ctx(dict(env, PATH=UBUNTU_PATH + ":/opt/cuda-10.2/bin"),
                                                          tmp_path))), "path.missing_dirs")).status is Status.WARN
    # The same line unguarded is still reported.
    (home / ".profile").write_text(DEBIAN_PROFILE + 'PATH="$HOME/nope/bin:$PATH"\n')
    findings = run(Facts.of(shell=collect_shell(ctx)), "shell.path_exports")
    assert [f.status for f in findings] == [Status.WARN] and "nope/bin" in findings[0].summary


def test_lines_of_a_login_file_bash_never_reads_are_not_reported(tmp_path, clean_env):
    home = Path(clean_env["HOME"])
    (home / ".profile").write_text('export PATH="$HOME/old-toolkit/bin:$PATH"\nexport CUDA_VISIBLE_DEVICES=1\n')
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    ctx = make_ctx(dict(clean_env, SHELL="/bin/bash"), tmp_path)
    # Without ~/.bash_profile, bash reads ~/.profile: its lines count.
    assert area_problems(Facts.of(shell=collect_shell(ctx), nvidia={}, env={}), "shell")
    for first in (".bash_profile", ".bash_login"):
        (home / first).write_text("[ -f ~/.bashrc ] && . ~/.bashrc\n")
        data = collect_shell(ctx)
        assert data["files"][".profile"]["read"] is False
        assert area_problems(Facts.of(shell=data, nvidia={}, env={}), "shell") == [], first
        (home / first).unlink()


def test_login_file_order_includes_bash_login(tmp_path, clean_env):
    home = Path(clean_env["HOME"])
    (home / ".bashrc").write_text("\n")
    (home / ".bash_login").write_text("echo hi\n")
    (home / ".profile").write_text('. "$HOME/.bashrc"\n')
    finding = only(run(Facts.of(shell=collect_shell(make_ctx(dict(clean_env, SHELL="/bin/bash"), tmp_path))),
                       "shell.login_reads_bashrc"))
    assert finding.status is Status.WARN and "~/.bash_login" in finding.summary


# --- 4./5. import order decides shadowing -----------------------------------------------------------------


def test_venv_own_torch_wins_over_the_user_site(tmp_path, clean_env):
    """A venv without system site packages never sees ~/.local: no shadowing, whatever ~/.local holds."""
    user_base = tmp_path / "userbase"
    site = user_base / f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
    fake_distribution(site, "numpy", "1.19.0")
    env = dict(clean_env, PYTHONUSERBASE=str(user_base))
    data = collect_python(make_ctx(env, tmp_path, python=sys.executable))
    target = data["target"]
    if target["user_site_enabled"]:
        pytest.skip("the test interpreter is not a venv without system site packages")
    assert target["import_origins"]["numpy"]["origin"] == "env"
    assert target["shadowed_by_user_site"] == []
    facts = Facts.of(python=data, shell={})
    assert [f.status for f in run(facts, "python.shadowing")] == [Status.OK]
    assert only(run(facts, "python.user_site")).status is Status.OK


def test_torch_from_pythonpath_shadows_the_environments_torch(tmp_path, clean_env):
    installed = (collect_python(make_ctx(clean_env, tmp_path, python=sys.executable))["target"]
                 .get("import_origins") or {}).get("numpy")
    if not installed or installed["origin"] != "env":
        pytest.skip("numpy is not installed in the test interpreter's environment")
    old = tmp_path / "home/old/site-packages"
    fake_distribution(old, "numpy", "1.19.0")
    home = Path(clean_env["HOME"])
    (home / ".bashrc").write_text(f"export PYTHONPATH={old}\n")
    env = dict(clean_env, PYTHONPATH=str(old), SHELL="/bin/bash")
    ctx = make_ctx(env, tmp_path, python=sys.executable)
    data = collect_python(ctx)
    origin = data["target"]["import_origins"]["numpy"]
    assert origin["origin"] == "pythonpath" and origin["version"] == "1.19.0" and origin["dir"] == str(old)
    assert origin["file"] == str(old / "numpy/__init__.py")
    facts = Facts.of(python=data, shell=collect_shell(ctx))
    finding = only(run(facts, "python.shadowing"))
    assert finding.status is Status.FAIL
    assert f"numpy 1.19.0 from $PYTHONPATH entry {old} shadows numpy {installed['version']} in {installed['dir']}" \
        in finding.summary
    assert "unset PYTHONPATH" in finding.fix and "line 1 of ~/.bashrc" in finding.fix


def shadow_target(origin: str, version: str = "2.1.0", env_version: str | None = "2.4.1", module: str = "torch") -> dict:
    site = "/envs/x/lib/python3.11/site-packages"
    where = {"user_site": "/home/u/.local/lib/python3.11/site-packages", "pythonpath": "/home/u/old/site-packages",
             "other": "/home/u/proj"}[origin]
    others = [{"dir": site, "version": env_version, "origin": "env"}] if env_version else []
    target = pyenv_target(executable="/envs/x/bin/python", prefix="/envs/x", prefix_real="/envs/x",
                          env_manager="conda", is_conda=True)
    target["import_origins"] = {module: {"file": f"{where}/{module}/__init__.py", "dir": where, "origin": origin,
                                         "version": version, "distribution": module, "others": others}}
    return target


def test_shadowing_messages_and_fixes_name_both_copies_and_the_target_interpreter():
    facts = Facts.of(python=python_data(shadow_target("pythonpath")), shell={})
    finding = only(run(facts, "python.shadowing"))
    assert finding.status is Status.FAIL
    assert ("torch 2.1.0 from $PYTHONPATH entry /home/u/old/site-packages shadows torch 2.4.1 in "
            "/envs/x/lib/python3.11/site-packages") in finding.summary
    user = only(run(Facts.of(python=python_data(shadow_target("user_site")), shell={}), "python.shadowing"))
    assert user.status is Status.FAIL and "from the user site /home/u/.local" in user.summary
    # No `python` on PATH is this env: the fix names the interpreter diagnosed.
    assert "/envs/x/bin/python -m pip uninstall torch" in user.fix and "PYTHONNOUSERSITE=1" in user.fix
    # Same version in both places, a non-key package, or no copy in the env: warnings.
    same = only(run(Facts.of(python=python_data(shadow_target("user_site", env_version="2.1.0")), shell={}),
                    "python.shadowing"))
    assert same.status is Status.WARN
    lonely = only(run(Facts.of(python=python_data(shadow_target("user_site", env_version=None)), shell={}),
                      "python.shadowing"))
    assert lonely.status is Status.WARN and "not installed in the environment itself" in lonely.summary
    pynvml = only(run(Facts.of(python=python_data(shadow_target("user_site", module="pynvml")), shell={}),
                      "python.shadowing"))
    assert pynvml.status is Status.WARN
    # A project folder with no copy in the env is not shadowing anything.
    project = run(Facts.of(python=python_data(shadow_target("other", env_version=None)), shell={}), "python.shadowing")
    assert [f.status for f in project] == [Status.OK]


# --- 6. LD_LIBRARY_PATH: only existing folders with CUDA libraries count ---------------------------------------


def test_missing_or_empty_cuda_folder_on_ld_library_path_is_not_a_warning(tmp_path, clean_env):
    empty = tmp_path / "usr/local/cuda-11.8/lib64"
    empty.mkdir(parents=True)
    env = dict(clean_env, LD_LIBRARY_PATH=f"{tmp_path}/usr/local/cuda-10.2/lib64:{empty}")
    facts = Facts.of(paths=collect_paths(make_ctx(env, tmp_path)), torch={"cuda": "12.4"})
    finding = only(run(facts, "path.ld_library_path_cuda"))
    assert finding.status is Status.OK and "cuda-10.2" in finding.details[0]
    real = tmp_path / "opt/cuda-10.2/lib64"
    real.mkdir(parents=True)
    (real / "libcudart.so.10.2.89").write_text("")
    env["LD_LIBRARY_PATH"] += f":{real}"
    facts = Facts.of(paths=collect_paths(make_ctx(env, tmp_path)), torch={"cuda": "12.4"})
    warned = [f for f in run(facts, "path.ld_library_path_cuda") if f.status is Status.WARN]
    assert len(warned) == 1 and "CUDA 10.2" in warned[0].summary and str(real) in warned[0].summary


def test_the_libraries_version_beats_the_folder_name(tmp_path, clean_env):
    misnamed = tmp_path / "opt/cuda-10.2/lib64"
    misnamed.mkdir(parents=True)
    (misnamed / "libcudart.so.12.4.127").write_text("")
    facts = Facts.of(paths=collect_paths(make_ctx(dict(clean_env, LD_LIBRARY_PATH=str(misnamed)), tmp_path)),
                     torch={"cuda": "12.4"})
    assert [f.status for f in run(facts, "path.ld_library_path_cuda")] == [Status.OK]


# --- 7. environment managers, conda + pip torch, broken requirements ---------------------------------------------


def test_env_manager_of_each_kind_of_prefix(tmp_path, monkeypatch):
    pyinfo = load_pyinfo()
    for name in ("PIXI_ENVIRONMENT_NAME", "PYENV_ROOT"):
        monkeypatch.delenv(name, raising=False)
    cases = {}
    uv = tmp_path / "uvenv"
    uv.mkdir()
    (uv / "pyvenv.cfg").write_text("home = /usr/bin\nimplementation = CPython\nuv = 0.4.18\n")
    cases[uv] = "uv"
    virtualenv = tmp_path / "virtualenv"
    virtualenv.mkdir()
    (virtualenv / "pyvenv.cfg").write_text("home = /usr/bin\nvirtualenv = 20.26.3\n")
    cases[virtualenv] = "virtualenv"
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\n")
    cases[venv] = "venv"
    conda = tmp_path / "miniconda3/envs/dl"
    (conda / "conda-meta").mkdir(parents=True)
    cases[conda] = "conda"
    pixi = tmp_path / "proj/.pixi/envs/default"
    (pixi / "conda-meta").mkdir(parents=True)
    cases[pixi] = "pixi"
    pyenv = tmp_path / ".pyenv/versions/3.11.9"
    pyenv.mkdir(parents=True)
    cases[pyenv] = "pyenv"
    for prefix, expected in cases.items():
        cfg = pyinfo._read_pyvenv_cfg(str(prefix))
        assert pyinfo._env_manager(str(prefix), str(prefix), cfg) == expected, prefix
    assert pyinfo._env_manager("/usr", "/usr", None) == "system"
    assert pyinfo._env_manager(str(tmp_path / "opt/python"), str(tmp_path / "opt/python"), None) is None


def test_uv_venv_without_pip_is_fine_and_installs_go_through_uv(tmp_path, clean_env):
    venv = tmp_path / "uvenv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    with open(venv / "pyvenv.cfg", "a") as handle:
        handle.write("uv = 0.4.18\n")
    data = collect_python(make_ctx(clean_env, tmp_path, python=str(venv / "bin/python")))
    target = data["target"]
    assert target["env_manager"] == "uv" and target["pip"]["importable"] is False
    facts = Facts.of(python=data)
    finding = only(run(facts, "python.pip_available"))
    assert finding.status is Status.OK and "uv pip install --python" in finding.summary
    assert pip_install(facts, "torch") == f"uv pip install --python {venv}/bin/python torch"
    # The same venv without the uv line: a plain venv without pip is worth a warning.
    plain = dict(target, env_manager="venv")
    assert only(run(Facts.of(python=dict(data, target=plain)), "python.pip_available")).status is Status.WARN


def test_pip_torch_over_condas_pytorch_warns_and_one_installer_is_ok():
    target = pyenv_target(prefix="/home/u/miniconda3/envs/dl", is_conda=True, env_manager="conda",
                          conda_packages={"pytorch": "pytorch-2.1.0-py3.11_cuda12.1_cudnn8.9.2_0"},
                          installers={"torch": "pip"}, distributions={"torch": "2.4.1"})
    finding = only(run(Facts.of(python=python_data(target)), "python.conda_pip_torch"))
    assert finding.status is Status.WARN and "pytorch-2.1.0-py3.11_cuda12.1_cudnn8.9.2_0" in finding.summary
    assert "torch 2.4.1 installed by pip" in finding.summary
    assert "conda create -n NAME python=3.11" in finding.fix and "conda install --force-reinstall pytorch" in finding.fix
    conda_only = dict(target, installers={"torch": "conda"})
    assert only(run(Facts.of(python=python_data(conda_only)), "python.conda_pip_torch")).status is Status.OK
    not_conda = dict(target, is_conda=False, conda_packages={})
    assert run(Facts.of(python=python_data(not_conda)), "python.conda_pip_torch") == []


def requirement_target(requires: dict, distributions: dict) -> dict:
    return pyenv_target(requires=requires, distributions=distributions, marker_environment={
        "python_version": "3.11", "python_full_version": "3.11.9", "sys_platform": "linux", "platform_system": "Linux",
        "platform_machine": "x86_64", "os_name": "posix", "implementation_name": "cpython",
        "implementation_version": "3.11.9", "platform_python_implementation": "CPython", "platform_release": "6.8",
        "platform_version": "#1"})


def test_broken_requirements_only_where_markers_apply():
    requires = {
        "torchvision": ["torch==2.4.0", "numpy", "pillow!=8.3.*,>=5.3.0", 'scipy; extra == "scipy"'],
        "torch": ['triton==3.0.0; platform_system == "Linux" and platform_machine == "x86_64"',
                  'colorama; sys_platform == "win32"', 'dataclasses; python_version < "3.7"'],
    }
    distributions = {"torchvision": "0.19.0", "torch": "2.5.1+cu121", "numpy": "2.1.0", "pillow": "10.4.0"}
    finding = only(run(Facts.of(python=python_data(requirement_target(requires, distributions))),
                       "python.broken_requirements"))
    assert finding.status is Status.WARN
    assert "torchvision 0.19.0 requires torch==2.4.0, but torch 2.5.1+cu121 is installed" in finding.details
    assert "torch 2.5.1+cu121 requires triton==3.0.0, but it is not installed" in finding.details
    assert len(finding.details) == 2  # extras, win32 and python<3.7 requirements do not apply
    assert 'python -m pip install "torch==2.4.0"' in finding.fix or '-m pip install "torch==2.4.0"' in finding.fix
    healthy = dict(distributions, torch="2.4.0", triton="3.0.0")
    assert only(run(Facts.of(python=python_data(requirement_target(requires, healthy))),
                    "python.broken_requirements")).status is Status.OK


def test_broken_requirements_agree_with_pip_check_on_a_real_environment(tmp_path, clean_env):
    data = collect_python(make_ctx(clean_env, tmp_path, python=sys.executable))
    pip_check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    finding = only(run(Facts.of(python=data), "python.broken_requirements"))
    assert (finding.status is Status.OK) == (pip_check.returncode == 0), (finding, pip_check.stdout)


# --- 8. the open-files limit --------------------------------------------------------------------------------


def system_with_limit(soft, hard) -> dict:
    return {"open_files_limit": {"soft": soft, "hard": hard, "error": None}}


def test_low_open_files_limit_warns_with_the_fix_the_hard_limit_allows():
    torch_target = Facts.of(system=system_with_limit(1024, 1048576), python=python_data(pyenv_target()))
    finding = only(run(torch_target, "system.open_files_limit"))
    assert finding.status is Status.WARN and "received 0 items of ancdata" in finding.summary
    assert "ulimit -n 65535" in finding.fix and "set_sharing_strategy('file_system')" in finding.fix
    assert any("pytorch.org/docs/stable/multiprocessing.html" in d for d in finding.details)
    low_hard = only(run(Facts.of(system=system_with_limit(1024, 2048)), "system.open_files_limit"))
    assert low_hard.status is Status.WARN and "administrator" in low_hard.summary
    assert "/etc/security/limits.conf" in low_hard.fix and "ulimit -n" not in low_hard.fix
    between = only(run(Facts.of(system=system_with_limit(1024, 8192)), "system.open_files_limit"))
    assert "ulimit -n 8192" in between.fix
    assert only(run(Facts.of(system=system_with_limit(65535, 65535)), "system.open_files_limit")).status is Status.OK
    assert only(run(Facts.of(system=system_with_limit(None, None)), "system.open_files_limit")).status is Status.OK
    no_torch = Facts.of(system=system_with_limit(1024, 4096), python=python_data(pyenv_target(distributions={"pip": "24"})))
    assert only(run(no_torch, "system.open_files_limit")).status is Status.OK


def test_system_collector_reads_the_real_open_files_limit(tmp_path, clean_env):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    data = collect_system(make_ctx(clean_env, tmp_path))["open_files_limit"]
    assert data["soft"] == (None if soft == resource.RLIM_INFINITY else soft)
    assert data["hard"] == (None if hard == resource.RLIM_INFINITY else hard)
    json.dumps(data)
