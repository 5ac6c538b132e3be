"""Host checks as pure functions over recorded-fact scenarios, plus one end-to-end CLI run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from envcheck.checks import all_checks, run_checks
from envcheck.core.model import Facts, Status

REPO = Path(__file__).resolve().parent.parent
GIB = 1024**3


def run(facts: Facts, check_id: str):
    """Findings of one registered check, through the same runner the doctor uses."""
    return run_checks([all_checks()[check_id]], facts)


def statuses(findings) -> list[Status]:
    return [f.status for f in findings]


def only(findings):
    assert len(findings) == 1, findings
    return findings[0]


# --- scenario builders ----------------------------------------------------------------------


def target(**overrides) -> dict:
    base = {
        "executable": "/home/u/miniconda3/envs/train/bin/python",
        "version": "3.11.7",
        "version_info": [3, 11, 7],
        "implementation": "CPython",
        "prefix": "/home/u/miniconda3/envs/train",
        "base_prefix": "/home/u/miniconda3/envs/train",
        "site_packages": ["/home/u/miniconda3/envs/train/lib/python3.11/site-packages"],
        "is_venv": False,
        "is_conda": True,
        "base_is_conda": True,
        "user_site": "/home/u/.local/lib/python3.11/site-packages",
        "user_site_enabled": True,
        "distributions": {"torch": "2.14.1", "pip": "24.0", "numpy": "2.1.0"},
        "user_site_distributions": {},
        "shadowed_by_user_site": [],
        "socks_importable": False,
        "pip": {"version": "24.0", "importable": True},
    }
    base.update(overrides)
    return base


def on_path_entry(path: str, prefix: str | None = None, installs_into: str | None = None) -> dict:
    entry = {"path": path, "realpath": path, "prefix": prefix or str(Path(path).parent.parent)}
    if Path(path).name.startswith("pip"):
        entry["interpreter"] = f"{installs_into}/bin/python" if installs_into else None
        entry["installs_into"] = installs_into
    return entry


def python_facts(conda_prefix=None, on_path=None, **target_overrides) -> dict:
    env = "/home/u/miniconda3/envs/train"
    default_on_path = {
        "python": on_path_entry(f"{env}/bin/python"),
        "python3": on_path_entry(f"{env}/bin/python3"),
        "pip": on_path_entry(f"{env}/bin/pip", installs_into=env),
        "pip3": on_path_entry(f"{env}/bin/pip3", installs_into=env),
    }
    default_on_path.update(on_path or {})
    return {
        "target": target(**target_overrides),
        "target_error": None,
        "running": {"executable": "/usr/bin/python3", "version": "3.11.2"},
        "on_path": default_on_path,
        "conda": {"prefix": conda_prefix, "default_env": Path(conda_prefix).name if conda_prefix else None,
                  "exe": None, "shlvl": None},
        "virtual_env": None,
        "pythonpath": None,
        "pythonnousersite": None,
        "pythonhome": None,
    }


def proxy_var(kind: str, url: str | None = None, **overrides) -> dict:
    from envcheck.facts.proxy import parse_proxy_url

    if kind == "no":
        return {"kind": "no", "value": url, "entries": [e.strip() for e in url.split(",") if e.strip()]}
    return {"kind": kind, **parse_proxy_url(url), **overrides}


def proxy_facts(variables: dict, reachability=None) -> dict:
    return {
        "variables": variables,
        "pip_env_proxy": None,
        "pip_config": {"entries": {}, "proxy": None, "error": None},
        "conda": {"path": "/home/u/.condarc", "exists": False, "proxy_servers": {}, "error": None},
        "reachability": reachability or [],
        "offline": False,
    }


def system_facts(**overrides) -> dict:
    base = {
        "os": "Ubuntu 22.04.4 LTS", "kernel": "5.15.0-105-generic", "glibc": "2.35", "machine": "x86_64",
        "cpu_count": 32, "cpu_usable": 8, "memory_total_bytes": 128 * GIB, "memory_available_bytes": 100 * GIB,
        "disks": [
            {"path": "/data/proj", "label": "cwd", "free_bytes": 500 * GIB, "total_bytes": 2000 * GIB, "error": None},
            {"path": "/home/u", "label": "home", "free_bytes": 50 * GIB, "total_bytes": 200 * GIB, "error": None},
            {"path": "/tmp", "label": "tmp", "free_bytes": 50 * GIB, "total_bytes": 200 * GIB, "error": None},
        ],
        "shm": {"path": "/dev/shm", "total_bytes": 64 * GIB, "free_bytes": 64 * GIB},
        "wsl": {"is_wsl": False, "version_text": "Linux version 5.15.0", "libcuda_wsl": False, "distro": None},
        "container": {"dockerenv": False, "containerenv": False, "cgroup_hint": None, "in_container": False},
    }
    base.update(overrides)
    return base


def shell_facts(bashrc_assignments=(), conda_lines=None, shell="bash", conda_installed=False, **files) -> dict:
    base_files = {
        ".bashrc": {"path": "/home/u/.bashrc", "exists": True, "conda_init": conda_lines is not None,
                    "conda_init_lines": conda_lines, "sources_bashrc": False, "assignments": list(bashrc_assignments)},
        ".bash_profile": {"path": "/home/u/.bash_profile", "exists": False},
        ".profile": {"path": "/home/u/.profile", "exists": True, "conda_init": False, "conda_init_lines": None,
                     "sources_bashrc": True, "assignments": []},
        ".zshrc": {"path": "/home/u/.zshrc", "exists": False},
    }
    base_files.update(files)
    return {
        "login_shell": f"/bin/{shell}", "login_shell_name": shell, "files": base_files,
        "conda": {"installed": conda_installed, "exe": "/home/u/miniconda3/bin/conda" if conda_installed else None},
    }


def assignment(line: int, name: str, text: str, parts=None, in_conda_block=False) -> dict:
    entry = {"file": "/home/u/.bashrc", "line": line, "name": name, "exported": True, "text": text,
             "in_conda_block": in_conda_block}
    if parts is not None:
        entry["parts"] = parts
    return entry


# --- system ---------------------------------------------------------------------------------


def test_system_summary_is_ok_and_mentions_the_machine():
    finding = only(run(Facts.of(system=system_facts()), "system.summary"))
    assert finding.status is Status.OK
    assert "Ubuntu 22.04.4 LTS" in finding.summary and "glibc 2.35" in finding.summary
    assert "8 usable" in finding.summary and "128.0 GiB RAM" in finding.summary


def test_low_disk_warns_and_fails_with_cleanup_fix():
    disks = [
        {"path": "/data/proj", "label": "cwd", "free_bytes": int(0.5 * GIB), "total_bytes": 100 * GIB, "error": None},
        {"path": "/home/u", "label": "home", "free_bytes": 3 * GIB, "total_bytes": 100 * GIB, "error": None},
        {"path": "/tmp", "label": "tmp", "free_bytes": 40 * GIB, "total_bytes": 100 * GIB, "error": None},
    ]
    findings = run(Facts.of(system=system_facts(disks=disks)), "system.disk_space")
    by_status = {f.status: f for f in findings}
    assert set(by_status) == {Status.FAIL, Status.WARN, Status.OK}
    assert "/data/proj" in by_status[Status.FAIL].summary and "/home/u" in by_status[Status.WARN].summary
    assert "du -sh ~/.cache/* | sort -h" in by_status[Status.FAIL].fix and "conda clean -a" in by_status[Status.FAIL].fix
    assert "/tmp" in by_status[Status.OK].summary


def test_healthy_disk_is_ok():
    assert statuses(run(Facts.of(system=system_facts()), "system.disk_space")) == [Status.OK]


def test_small_shm_in_a_container_warns_with_docker_fix():
    facts = Facts.of(system=system_facts(
        shm={"path": "/dev/shm", "total_bytes": 64 * 1024**2, "free_bytes": 64 * 1024**2},
        container={"dockerenv": True, "containerenv": False, "cgroup_hint": "docker", "in_container": True},
    ))
    finding = only(run(facts, "system.shm"))
    assert finding.status is Status.WARN and "bus error" in finding.summary
    assert "--shm-size=8g" in finding.fix and "--ipc=host" in finding.fix and "num_workers=0" in finding.fix
    assert only(run(Facts.of(system=system_facts()), "system.shm")).status is Status.OK


def test_wsl_with_and_without_libcuda():
    wsl = {"is_wsl": True, "version_text": "Linux version 5.15.153.1-microsoft-standard-WSL2", "libcuda_wsl": False, "distro": "Ubuntu"}
    missing = only(run(Facts.of(system=system_facts(wsl=wsl)), "system.wsl"))
    assert missing.status is Status.WARN and "/usr/lib/wsl/lib/libcuda.so.1" in missing.summary
    assert any("symlink" in d for d in missing.details)
    present = only(run(Facts.of(system=system_facts(wsl=dict(wsl, libcuda_wsl=True))), "system.wsl"))
    assert present.status is Status.OK
    assert run(Facts.of(system=system_facts()), "system.wsl") == []


# --- python ---------------------------------------------------------------------------------


def test_conda_env_active_but_the_wrong_python():
    facts = Facts.of(python=python_facts(
        conda_prefix="/home/u/miniconda3/envs/train",
        on_path={"python": on_path_entry("/opt/python3.11/bin/python")},
    ))
    finding = only(run(facts, "python.conda_active_python"))
    assert finding.status is Status.FAIL
    assert "/opt/python3.11/bin/python" in finding.summary and "'train'" in finding.summary
    assert "conda activate train" in finding.fix and "hash -r" in finding.fix and "which python" in finding.fix


def test_conda_env_active_with_its_own_python_is_ok():
    facts = Facts.of(python=python_facts(conda_prefix="/home/u/miniconda3/envs/train"))
    assert only(run(facts, "python.conda_active_python")).status is Status.OK
    assert run(Facts.of(python=python_facts()), "python.conda_active_python") == []


def test_pip_from_another_env():
    other = "/home/u/miniconda3"
    facts = Facts.of(python=python_facts(on_path={"pip": on_path_entry(f"{other}/bin/pip", installs_into=other)}))
    findings = run(facts, "python.pip_matches_python")
    failing = [f for f in findings if f.status is Status.FAIL]
    assert len(failing) == 1
    assert f"{other}/bin/pip" in failing[0].summary and "python -m pip install" in failing[0].fix
    # pip3 still matches python3, and that is reported as verified.
    assert any(f.status is Status.OK and "pip3" in f.summary for f in findings)


def test_pip_matching_python_is_ok_and_shims_are_unknown():
    assert statuses(run(Facts.of(python=python_facts()), "python.pip_matches_python")) == [Status.OK]
    shim = on_path_entry("/home/u/.pyenv/shims/pip", installs_into=None)
    findings = run(Facts.of(python=python_facts(on_path={"pip": shim})), "python.pip_matches_python")
    assert Status.SKIP in statuses(findings) and Status.FAIL not in statuses(findings)


def test_python_and_python3_differ():
    facts = Facts.of(python=python_facts(on_path={"python3": on_path_entry("/usr/bin/python3", prefix="/usr")}))
    finding = only(run(facts, "python.python_vs_python3"))
    assert finding.status is Status.WARN and "/usr/bin/python3" in finding.summary
    assert only(run(Facts.of(python=python_facts()), "python.python_vs_python3")).status is Status.OK


def test_python_version_support_follows_the_data(monkeypatch):
    old = only(run(Facts.of(python=python_facts(version="3.8.18", version_info=[3, 8, 18], distributions={})),
                   "python.version_supported"))
    assert old.status is Status.FAIL and "Python 3.10-3.14" in old.summary and any("RELEASE.md" in d for d in old.details)
    # The range is read from the data, not written in the check: a newer row moves it.
    from envcheck import knowledge

    monkeypatch.setattr(knowledge, "newest_release_range", lambda: ("9.0", "3.12", "3.16"))
    moved = only(run(Facts.of(python=python_facts(version_info=[3, 11, 0], distributions={})), "python.version_supported"))
    assert moved.status is Status.FAIL and "torch 9.0 (Python 3.12-3.16)" in moved.summary
    monkeypatch.undo()
    old_with_torch = only(run(Facts.of(python=python_facts(version_info=[3, 9, 1])), "python.version_supported"))
    assert old_with_torch.status is Status.WARN
    new = only(run(Facts.of(python=python_facts(version_info=[3, 15, 0])), "python.version_supported"))
    assert new.status is Status.WARN
    assert only(run(Facts.of(python=python_facts()), "python.version_supported")).status is Status.OK


def test_target_that_cannot_be_inspected_fails():
    data = python_facts()
    data["target"], data["target_error"] = None, "/opt/x/python is not a working Python interpreter (exit 127: not found)"
    finding = only(run(Facts.of(python=data), "python.target"))
    assert finding.status is Status.FAIL and "--python" in finding.fix
    healthy = only(run(Facts.of(python=python_facts()), "python.target"))
    assert healthy.status is Status.OK and "conda env 'train'" in healthy.summary


def test_venv_inside_conda_env_warns():
    facts = Facts.of(python=python_facts(conda_prefix="/home/u/miniconda3", is_venv=True, is_conda=False,
                                         prefix="/data/proj/.venv", base_prefix="/home/u/miniconda3"))
    assert only(run(facts, "python.venv_in_conda")).status is Status.WARN
    assert run(Facts.of(python=python_facts()), "python.venv_in_conda") == []


def test_user_site_packages_are_a_note_and_shadowing_is_decided_by_import_order():
    # Packages in ~/.local alone are a note; that one really wins over the env's copy is python.shadowing's.
    facts = Facts.of(python=python_facts(user_site_distributions={"numpy": "1.24.0"}, shadowed_by_user_site=["numpy"]))
    finding = only(run(facts, "python.user_site"))
    assert finding.status is Status.OK and "PYTHONNOUSERSITE=1" in finding.fix
    assert any("numpy" in d and "python.shadowing" in d for d in finding.details)
    assert only(run(Facts.of(python=python_facts()), "python.user_site")).status is Status.OK


def test_pythonpath_with_installed_packages_warns_and_source_folders_are_a_note():
    data = python_facts(pythonpath_entries=[{"dir": "/home/u/old/site-packages", "exists": True,
                                             "distributions": ["numpy", "torch"]}])
    data["pythonpath"] = "/home/u/old/site-packages"
    finding = only(run(Facts.of(python=data), "python.pythonpath"))
    assert finding.status is Status.WARN and "/home/u/old/site-packages" in finding.summary
    assert "torch" in finding.summary and "unset PYTHONPATH" in finding.fix
    source = python_facts(pythonpath_entries=[{"dir": "/home/u/proj/src", "exists": True, "distributions": []}])
    source["pythonpath"] = "/home/u/proj/src"
    assert only(run(Facts.of(python=source), "python.pythonpath")).status is Status.OK
    home = python_facts()
    home["pythonhome"] = "/opt/py"
    assert only(run(Facts.of(python=home), "python.pythonpath")).status is Status.WARN
    assert only(run(Facts.of(python=python_facts()), "python.pythonpath")).status is Status.OK


def test_torch_presence_is_a_note_only():
    assert only(run(Facts.of(python=python_facts()), "python.torch_installed")).status is Status.OK
    missing = only(run(Facts.of(python=python_facts(distributions={"pip": "24.0"})), "python.torch_installed"))
    assert missing.status is Status.SKIP


# --- path -----------------------------------------------------------------------------------


def paths_facts(**overrides) -> dict:
    base = {
        "path": [{"dir": "/usr/bin", "exists": True, "is_dir": True, "duplicate_of": None}],
        "shadowed": {"python3": [{"dir": "/usr/bin", "path": "/usr/bin/python3", "realpath": "/usr/bin/python3.11"}]},
        "ld_library_path_set": False,
        "ld_library_path": [],
        "ld_preload": None,
    }
    base.update(overrides)
    return base


def test_missing_and_duplicate_path_entries():
    entries = [
        {"dir": "/usr/bin", "exists": True, "is_dir": True, "duplicate_of": None},
        {"dir": "/opt/cuda-10.2/bin", "exists": False, "is_dir": False, "duplicate_of": None},
        {"dir": "/usr/bin", "exists": True, "is_dir": True, "duplicate_of": 0},
    ]
    facts = Facts.of(paths=paths_facts(path=entries))
    missing = only(run(facts, "path.missing_dirs"))
    assert missing.status is Status.WARN and "/opt/cuda-10.2/bin" in missing.summary
    duplicate = only(run(facts, "path.duplicates"))
    assert "/usr/bin" in duplicate.summary
    assert only(run(Facts.of(paths=paths_facts()), "path.missing_dirs")).status is Status.OK
    # Folders a distribution's default PATH names whether or not they exist (Ubuntu's /snap/bin): a note.
    snap = [entries[0], {"dir": "/snap/bin", "exists": False, "is_dir": False, "duplicate_of": None, "distro_default": True}]
    note = only(run(Facts.of(paths=paths_facts(path=snap)), "path.missing_dirs"))
    assert note.status is Status.OK and "/snap/bin" in note.details[0]
    empty = snap + [{"dir": "", "exists": True, "is_dir": True, "duplicate_of": None}]
    finding = only(run(Facts.of(paths=paths_facts(path=empty)), "path.missing_dirs"))
    assert finding.status is Status.WARN and "current folder" in finding.summary


def test_shadowed_nvcc_warns_and_shows_winner():
    shadowed = {
        "nvcc": [
            {"dir": "/usr/local/cuda-11.8/bin", "path": "/usr/local/cuda-11.8/bin/nvcc", "realpath": "/usr/local/cuda-11.8/bin/nvcc"},
            {"dir": "/usr/local/cuda-12.4/bin", "path": "/usr/local/cuda-12.4/bin/nvcc", "realpath": "/usr/local/cuda-12.4/bin/nvcc"},
        ],
        # Same file twice (merged /usr): not shadowing.
        "python3": [
            {"dir": "/usr/bin", "path": "/usr/bin/python3", "realpath": "/usr/bin/python3.11"},
            {"dir": "/bin", "path": "/bin/python3", "realpath": "/usr/bin/python3.11"},
        ],
    }
    findings = run(Facts.of(paths=paths_facts(shadowed=shadowed)), "path.shadowed")
    warn = only([f for f in findings if f.status is Status.WARN])
    assert "/usr/local/cuda-11.8/bin/nvcc wins" in warn.summary and "cuda-12.4" in warn.summary
    assert "which -a nvcc" in warn.fix
    assert not any("python3" in f.summary for f in findings)


def test_ld_library_path_cuda_118_vs_torch_130():
    entry = {"dir": "/usr/local/cuda-11.8/lib64", "exists": True, "cuda_version": "11.8", "cuda_version_source": "path",
             "cuda_libraries": ["libcudart.so.11.0", "libnvJitLink.so.11"]}
    facts = Facts.of(paths=paths_facts(ld_library_path_set=True, ld_library_path=[entry]), torch={"cuda": "13.0"})
    finding = only(run(facts, "path.ld_library_path_cuda"))
    assert finding.status is Status.WARN
    assert "11.8" in finding.summary and "13.0" in finding.summary and "__nvJitLinkAddData" in finding.summary
    assert "unset LD_LIBRARY_PATH" in finding.fix and "~/.bashrc" in finding.fix

    matching = dict(entry, dir="/usr/local/cuda-13.0/lib64", cuda_version="13.0")
    ok = only(run(Facts.of(paths=paths_facts(ld_library_path_set=True, ld_library_path=[matching]), torch={"cuda": "13.0"}),
                  "path.ld_library_path_cuda"))
    assert ok.status is Status.OK


def test_ld_library_path_without_torch_facts_says_so():
    entry = {"dir": "/usr/local/cuda-11.8/lib64", "exists": True, "cuda_version": "11.8", "cuda_version_source": "path",
             "cuda_libraries": ["libcudart.so.11.0"]}
    finding = only(run(Facts.of(paths=paths_facts(ld_library_path_set=True, ld_library_path=[entry])),
                       "path.ld_library_path_cuda"))
    assert finding.status is Status.SKIP and "could not be compared" in finding.summary
    assert only(run(Facts.of(paths=paths_facts()), "path.ld_library_path_cuda")).status is Status.OK


def test_ld_preload_warns():
    finding = only(run(Facts.of(paths=paths_facts(ld_preload="/usr/lib/libjemalloc.so")), "path.ld_preload"))
    assert finding.status is Status.WARN and "unset LD_PRELOAD" in finding.fix
    assert only(run(Facts.of(paths=paths_facts()), "path.ld_preload")).status is Status.OK


# --- shell ----------------------------------------------------------------------------------


def test_cuda_visible_devices_exported_in_bashrc():
    facts = Facts.of(shell=shell_facts([assignment(118, "CUDA_VISIBLE_DEVICES", "export CUDA_VISIBLE_DEVICES=0")]))
    finding = only(run(facts, "shell.cuda_visible_devices"))
    assert finding.status is Status.WARN and "~/.bashrc:118" in finding.summary
    assert "CUDA_VISIBLE_DEVICES=0 python train.py" in finding.fix
    assert only(run(Facts.of(shell=shell_facts()), "shell.cuda_visible_devices")).status is Status.OK


def test_proxy_exports_are_reported_with_location():
    facts = Facts.of(shell=shell_facts([assignment(20, "https_proxy", "export https_proxy=http://***@127.0.0.1:7890")]))
    finding = only(run(facts, "shell.proxy_exports"))
    assert finding.status is Status.OK and "~/.bashrc:20" in finding.summary


def test_path_export_after_conda_block_hiding_python():
    part = {"dir": "/opt/python3.11/bin", "exists": True, "prepended": True, "replaces_old_value": False,
            "python_executables": ["python", "pip"]}
    missing = {"dir": "/usr/local/cuda-10.1/bin", "exists": False, "prepended": True, "replaces_old_value": False,
               "python_executables": []}
    facts = Facts.of(shell=shell_facts([
        assignment(40, "PATH", 'export PATH="/opt/python3.11/bin:$PATH"', parts=[part]),
        assignment(41, "PATH", 'export PATH="/usr/local/cuda-10.1/bin:$PATH"', parts=[missing]),
    ], conda_lines=[20, 35]))
    findings = run(facts, "shell.path_exports")
    assert statuses(findings) == [Status.WARN, Status.WARN]
    assert any("~/.bashrc:40" in f.summary and "conda" in f.summary for f in findings)
    assert any("~/.bashrc:41" in f.summary and "does not exist" in f.summary for f in findings)
    # The same line before the conda block is fine.
    before = Facts.of(shell=shell_facts([assignment(10, "PATH", "x", parts=[part])], conda_lines=[20, 35]))
    assert statuses(run(before, "shell.path_exports")) == [Status.OK]


def test_path_export_that_replaces_path_warns():
    part = {"dir": "/opt/tools/bin", "exists": True, "prepended": False, "replaces_old_value": True,
            "python_executables": []}
    facts = Facts.of(shell=shell_facts([assignment(7, "PATH", "export PATH=/opt/tools/bin", parts=[part])]))
    finding = only(run(facts, "shell.path_exports"))
    assert finding.status is Status.WARN and "~/.bashrc:7" in finding.summary and "$PATH" in finding.fix


def test_base_env_active_but_python_from_another_env():
    base = "/home/u/miniconda3"
    facts = Facts.of(python=python_facts(conda_prefix=base,
                                         on_path={"python": on_path_entry(f"{base}/envs/old/bin/python")}))
    assert only(run(facts, "python.conda_active_python")).status is Status.FAIL


def test_conda_init_in_bashrc_but_shell_is_zsh():
    facts = Facts.of(shell=shell_facts(conda_lines=[20, 35], shell="zsh", conda_installed=True))
    finding = only(run(facts, "shell.conda_init"))
    assert finding.status is Status.WARN and "init zsh" in finding.fix
    missing = only(run(Facts.of(shell=shell_facts(conda_installed=True)), "shell.conda_init"))
    assert missing.status is Status.WARN and "init bash" in missing.fix
    good = only(run(Facts.of(shell=shell_facts(conda_lines=[20, 35], conda_installed=True)), "shell.conda_init"))
    assert good.status is Status.OK


def test_bash_profile_that_skips_bashrc():
    profile = {"path": "/home/u/.bash_profile", "exists": True, "conda_init": False, "conda_init_lines": None,
               "sources_bashrc": False, "assignments": []}
    finding = only(run(Facts.of(shell=shell_facts(**{".bash_profile": profile})), "shell.login_reads_bashrc"))
    assert finding.status is Status.WARN and "~/.bash_profile" in finding.summary and ". ~/.bashrc" in finding.fix
    assert only(run(Facts.of(shell=shell_facts()), "shell.login_reads_bashrc")).status is Status.OK


# --- proxy ----------------------------------------------------------------------------------


def test_no_proxy_at_all_is_ok():
    facts = Facts.of(proxy=proxy_facts({}))
    assert only(run(facts, "proxy.summary")).summary.startswith("no proxy set")
    for check_id in ("proxy.case_mismatch", "proxy.malformed", "proxy.https_scheme", "proxy.no_proxy_local"):
        assert run(facts, check_id) == []


def test_proxies_disagree():
    facts = Facts.of(proxy=proxy_facts({
        "http_proxy": proxy_var("http", "http://127.0.0.1:7890"),
        "HTTP_PROXY": proxy_var("http", "http://10.0.0.5:3128"),
    }))
    finding = only(run(facts, "proxy.case_mismatch"))
    assert finding.status is Status.FAIL
    assert "127.0.0.1:7890" in finding.summary and "10.0.0.5:3128" in finding.summary
    assert "export http_proxy=" in finding.fix and "HTTP_PROXY=" in finding.fix
    agree = Facts.of(proxy=proxy_facts({
        "http_proxy": proxy_var("http", "http://127.0.0.1:7890"),
        "HTTP_PROXY": proxy_var("http", "http://127.0.0.1:7890"),
    }))
    assert only(run(agree, "proxy.case_mismatch")).status is Status.OK


def test_malformed_proxy():
    facts = Facts.of(proxy=proxy_facts({
        "https_proxy": proxy_var("https", "htpp://127.0.0.1:7890"),
        "http_proxy": proxy_var("http", "127.0.0.1:7890"),
    }))
    findings = run(facts, "proxy.malformed")
    by_name = {("https_proxy" in f.summary): f for f in findings}
    assert by_name[True].status is Status.FAIL and "unknown scheme" in by_name[True].summary
    assert by_name[False].status is Status.WARN and "http://127.0.0.1:7890" in by_name[False].fix
    good = Facts.of(proxy=proxy_facts({"http_proxy": proxy_var("http", "http://127.0.0.1:7890")}))
    assert only(run(good, "proxy.malformed")).status is Status.OK


def test_https_proxy_scheme():
    facts = Facts.of(proxy=proxy_facts({"https_proxy": proxy_var("https", "https://127.0.0.1:7890")}))
    finding = only(run(facts, "proxy.https_scheme"))
    assert finding.status is Status.FAIL and "check_hostname requires server_hostname" in finding.summary
    assert finding.fix == "export https_proxy=http://127.0.0.1:7890"
    good = Facts.of(proxy=proxy_facts({"https_proxy": proxy_var("https", "http://127.0.0.1:7890")}))
    assert only(run(good, "proxy.https_scheme")).status is Status.OK


def test_socks_without_pysocks():
    proxy = proxy_facts({"all_proxy": proxy_var("all", "socks5://127.0.0.1:7891")})
    finding = only(run(Facts.of(proxy=proxy, python=python_facts()), "proxy.socks_support"))
    assert finding.status is Status.FAIL and "Missing dependencies for SOCKS support" in finding.summary
    assert "env -u all_proxy python -m pip install pysocks" in finding.fix
    ok = only(run(Facts.of(proxy=proxy, python=python_facts(socks_importable=True)), "proxy.socks_support"))
    assert ok.status is Status.OK


def test_unreachable_proxy_fails_and_reachable_is_ok():
    variables = {"http_proxy": proxy_var("http", "http://127.0.0.1:7890"),
                 "https_proxy": proxy_var("https", "http://127.0.0.1:7890")}
    probes = [{"host": "127.0.0.1", "port": 7890, "status": "unreachable", "error": "Connection refused"}]
    finding = only(run(Facts.of(proxy=proxy_facts(variables, probes)), "proxy.reachable"))
    assert finding.status is Status.FAIL and "127.0.0.1:7890" in finding.summary and "Connection refused" in finding.summary
    assert "Clash" in finding.fix and "unset http_proxy https_proxy" in finding.fix
    probes_ok = [dict(probes[0], status="reachable", error=None)]
    assert only(run(Facts.of(proxy=proxy_facts(variables, probes_ok)), "proxy.reachable")).status is Status.OK
    skipped = [dict(probes[0], status="skipped (offline)", error=None)]
    assert only(run(Facts.of(proxy=proxy_facts(variables, skipped)), "proxy.reachable")).status is Status.SKIP


def test_no_proxy_without_localhost_warns():
    variables = {"http_proxy": proxy_var("http", "http://127.0.0.1:7890"), "no_proxy": proxy_var("no", "example.com")}
    finding = only(run(Facts.of(proxy=proxy_facts(variables)), "proxy.no_proxy_local"))
    assert finding.status is Status.WARN and "localhost" in finding.summary and "no_proxy=localhost,127.0.0.1" in finding.fix
    variables["no_proxy"] = proxy_var("no", "localhost,127.0.0.1,.corp")
    assert only(run(Facts.of(proxy=proxy_facts(variables)), "proxy.no_proxy_local")).status is Status.OK


def test_proxy_findings_never_show_a_password():
    url = "http://alice:Sup3rSecret@127.0.0.1:7890"
    variables = {
        "http_proxy": proxy_var("http", url),
        "HTTP_PROXY": proxy_var("http", "http://bob:Sup3rSecret@10.0.0.1:3128"),
        "https_proxy": proxy_var("https", "https://alice:Sup3rSecret@127.0.0.1:7890"),
    }
    probes = [{"host": "127.0.0.1", "port": 7890, "status": "unreachable", "error": "Connection refused"}]
    facts = Facts.of(proxy=proxy_facts(variables, probes), python=python_facts())
    findings = run_checks([c for c in all_checks().values() if c.area == "proxy"], facts)
    assert findings
    for f in findings:
        text = " ".join([f.summary, f.fix or "", *f.details])
        assert "Sup3rSecret" not in text and "alice" not in text, f


# --- terminal -------------------------------------------------------------------------------


def test_terminal_session_and_tmux_install():
    outside = {"in_tmux": False, "tmux_session": None, "in_screen": False, "tmux_installed": False,
               "screen_installed": False, "over_ssh": True}
    finding = only(run(Facts.of(terminal=outside), "terminal.session"))
    assert finding.status is Status.WARN and "SSH" in finding.summary and "tmux new -s train" in finding.fix
    install = only(run(Facts.of(terminal=outside), "terminal.tmux_installed"))
    assert install.status is Status.WARN and "sudo apt install tmux" in install.fix and "conda-forge tmux" in install.fix
    inside = dict(outside, in_tmux=True, tmux_session="train", tmux_installed=True)
    assert "'train'" in only(run(Facts.of(terminal=inside), "terminal.session")).summary
    assert only(run(Facts.of(terminal=inside), "terminal.tmux_installed")).status is Status.OK


# --- end to end -----------------------------------------------------------------------------


def test_doctor_proxy_json_offline_hides_the_password(tmp_path):
    envcheck = REPO / ".venv/bin/envcheck"
    if not envcheck.exists():
        pytest.skip("the project virtualenv is not built")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{REPO / '.venv/bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "http_proxy": "http://user:pass9XyZ@127.0.0.1:7890",
        "PIP_CONFIG_FILE": os.devnull,
    }
    out = subprocess.run([str(envcheck), "doctor", "--only", "proxy", "--json", "--offline"],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert "pass9XyZ" not in out.stdout and "pass9XyZ" not in out.stderr
    doc = json.loads(out.stdout)
    ids = {c["id"] for c in doc["checks"]}
    assert {"proxy.summary", "proxy.reachable", "proxy.no_proxy_local"} <= ids
    reach = next(c for c in doc["checks"] if c["id"] == "proxy.reachable")
    assert reach["status"] == "skip"
    assert doc["facts"]["proxy"]["data"]["variables"]["http_proxy"]["url"] == "http://***@127.0.0.1:7890"


def test_cgroup_limits_warn_when_below_the_host():
    from envcheck.checks.system import cgroup_limits

    host = {"cpu_count": 64, "cpu_usable": 64, "memory_total_bytes": 512 * 2**30}
    tight = cgroup_limits(Facts.of(system={**host, "cgroup_limits": {"version": 2, "cpus": 4.0, "memory_bytes": 16 * 2**30}}))
    assert tight.status is Status.WARN
    assert "4 CPUs while 64" in tight.summary and "16.0 GiB" in tight.summary
    assert "num_workers<=3" in tight.fix and "OMP_NUM_THREADS=4" in tight.fix
    loose = cgroup_limits(Facts.of(system={**host, "cgroup_limits": {"version": 2, "cpus": None, "memory_bytes": None}}))
    assert loose.status is Status.OK
    assert cgroup_limits(Facts.of(system={**host, "cgroup_limits": {"version": None, "cpus": None, "memory_bytes": None}})) is None
