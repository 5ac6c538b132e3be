"""The host collectors against fake environments: env dicts, a fake HOME, fake executables on PATH,
fake /proc and / trees, and a real TCP listener for proxy reachability."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.core.context import Context
from envcheck.facts.paths import collect_paths, cuda_version_from_dir, cuda_version_from_libs
from envcheck.facts.proxy import collect_proxy, parse_proxy_url
from envcheck.facts.python_env import PYINFO, collect_python, read_shebang_interpreter
from envcheck.facts.shell import collect_shell
from envcheck.facts.system import collect_system
from envcheck.facts.terminal import collect_terminal


def make_executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def make_ctx(env: dict, tmp_path: Path, **kwargs) -> Context:
    home = Path(env.get("HOME", tmp_path / "home"))
    home.mkdir(parents=True, exist_ok=True)
    return Context(env=env, home=home, cwd=tmp_path, **kwargs)


# --- system ---------------------------------------------------------------------------------


def test_system_reads_fake_roots(tmp_path, clean_env):
    sys_root = tmp_path / "root"
    (sys_root / "etc").mkdir(parents=True)
    (sys_root / "etc/os-release").write_text('NAME="Ubuntu"\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\n')
    (sys_root / "dev/shm").mkdir(parents=True)
    (sys_root / "usr/lib/wsl/lib").mkdir(parents=True)
    (sys_root / "usr/lib/wsl/lib/libcuda.so.1").write_text("")
    (sys_root / ".dockerenv").write_text("")
    proc_root = tmp_path / "proc"
    (proc_root / "1").mkdir(parents=True)
    (proc_root / "version").write_text("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1) #1 SMP\n")
    (proc_root / "1/cgroup").write_text("0::/kubepods/besteffort/pod1234\n")
    (proc_root / "cpuinfo").write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor\n")
    env = dict(clean_env, TMPDIR=str(tmp_path))
    data = collect_system(make_ctx(env, tmp_path, sys_root=sys_root, proc_root=proc_root))

    assert data["os"] == "Ubuntu 22.04.4 LTS"
    assert data["cpu_model"] == "AMD EPYC 7763 64-Core Processor"
    assert data["wsl"] == {
        "is_wsl": True,
        "version_text": "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1) #1 SMP",
        "libcuda_wsl": True,
        "distro": None,
    }
    assert data["container"]["dockerenv"] and data["container"]["cgroup_hint"] == "kubepods"
    assert data["shm"]["path"] == "/dev/shm" and data["shm"]["total_bytes"] > 0
    labels = {d["label"]: d for d in data["disks"]}
    assert set(labels) == {"cwd", "home", "tmp"}
    assert labels["tmp"]["path"] == str(tmp_path) and labels["tmp"]["free_bytes"] > 0
    assert data["cpu_count"] >= 1 and data["memory_total_bytes"] > 0
    json.dumps(data)


def test_system_without_wsl_shm_or_os_release(tmp_path, clean_env):
    proc_root = tmp_path / "proc"
    proc_root.mkdir()
    (proc_root / "version").write_text("Linux version 6.8.0-45-generic (buildd@lcy02) #45-Ubuntu\n")
    env = dict(clean_env, TMPDIR=str(tmp_path / "does-not-exist"))
    data = collect_system(make_ctx(env, tmp_path, sys_root=tmp_path / "empty", proc_root=proc_root))
    assert data["os"] is None
    assert data["shm"] is None
    assert data["wsl"]["is_wsl"] is False and data["wsl"]["libcuda_wsl"] is False
    assert data["container"]["in_container"] is False
    tmp_disk = next(d for d in data["disks"] if d["label"] == "tmp")
    assert tmp_disk["free_bytes"] is None and "FileNotFoundError" in tmp_disk["error"]


# --- python ---------------------------------------------------------------------------------


def test_python_target_is_inspected_and_path_pip_resolved(tmp_path, clean_env):
    env_a = tmp_path / "envA"
    env_b = tmp_path / "envB"
    (env_a / "bin").mkdir(parents=True)
    os.symlink(sys.executable, env_a / "bin/python")
    # A venv: its bin/python links to the base interpreter, yet it installs into env_a.
    (env_a / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\n")
    make_executable(env_b / "bin/python", "#!/bin/sh\nexit 0\n")
    make_executable(env_b / "bin/pip", f"#!{env_b}/bin/python\nimport sys\n")
    env = dict(clean_env, PATH=f"{env_a}/bin:{env_b}/bin:/usr/bin:/bin", CONDA_PREFIX=str(env_a),
               CONDA_DEFAULT_ENV="envA", PYTHONPATH="/src/lib")
    data = collect_python(make_ctx(env, tmp_path, python=sys.executable))

    assert data["target_error"] is None
    target = data["target"]
    assert target["executable"] == sys.executable
    assert target["version_info"] == list(sys.version_info[:3])
    assert target["prefix"] == sys.prefix
    assert target["is_venv"] == (sys.prefix != sys.base_prefix)
    # Every installed distribution, under its PEP 503 name.
    assert target["distributions"]["pytest"]
    assert "pytest-timeout" in target["distributions"]
    assert target["pip"]["importable"] is True
    assert isinstance(target["socks_importable"], bool)

    on_path = data["on_path"]
    assert on_path["python"]["path"] == f"{env_a}/bin/python"
    assert on_path["python"]["prefix"] == str(env_a.resolve())
    assert on_path["pip"]["interpreter"] == f"{env_b}/bin/python"
    assert on_path["pip"]["installs_into"] == str(env_b.resolve())
    assert data["conda"]["prefix"] == str(env_a) and data["conda"]["default_env"] == "envA"
    assert data["pythonpath"] == "/src/lib"
    assert data["running"]["executable"] == sys.executable


def test_python_target_failures_are_data(tmp_path, clean_env):
    not_python = make_executable(tmp_path / "fakepy", "#!/bin/sh\necho hello\nexit 3\n")
    data = collect_python(make_ctx(clean_env, tmp_path, python=str(not_python)))
    assert data["target"] is None and "not a working Python" in data["target_error"]

    data = collect_python(make_ctx(clean_env, tmp_path, python=str(tmp_path / "missing/python")))
    assert "could not be run" in data["target_error"]

    slow = make_executable(tmp_path / "slowpy", "#!/bin/sh\nsleep 20\n")
    data = collect_python(make_ctx(clean_env, tmp_path, python=str(slow), timeout=0.5))
    assert "timed out" in data["target_error"]


def test_pyinfo_runs_under_an_interpreter_without_envcheck(tmp_path):
    other = shutil.which("python3", path="/usr/bin:/bin")
    if not other or Path(other).resolve() == Path(sys.executable).resolve():
        pytest.skip("no second Python interpreter on this machine")
    out = subprocess.run([other, str(PYINFO)], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    data = json.loads(out.stdout)
    assert out.returncode == 0 and "error" not in data
    assert Path(data["executable"]).name.startswith("python")
    assert not any(p.endswith("envcheck") for p in data["sys_path"])


def test_pyinfo_turns_its_own_exception_into_json(tmp_path):
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import pyinfo; "
        "pyinfo.describe = lambda: 1 / 0; pyinfo.main()"
    )
    out = subprocess.run([sys.executable, "-c", code, str(PYINFO.parent)], capture_output=True, text=True, timeout=30)
    data = json.loads(out.stdout)
    assert out.returncode == 0
    assert data["error"].startswith("ZeroDivisionError")
    assert "Traceback" in data["traceback"]


def test_pyinfo_reports_user_site_shadowing(tmp_path):
    other = shutil.which("python3", path="/usr/bin:/bin")
    if not other:
        pytest.skip("no system python3")
    env = {"PATH": "/usr/bin:/bin", "PYTHONUSERBASE": str(tmp_path / "userbase"), "HOME": str(tmp_path)}
    first = json.loads(subprocess.run([other, str(PYINFO)], capture_output=True, text=True, env=env, timeout=30).stdout)
    if not first.get("user_site_enabled") or not first["distributions"]:
        pytest.skip("this python has no user site or no packages")
    name = sorted(first["distributions"])[0]
    dist_info = Path(first["user_site"]) / f"{name}-0.0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
    # Metadata alone imports nothing: not shadowing (the old rule "in both places = the user site wins" was wrong).
    metadata_only = json.loads(subprocess.run([other, str(PYINFO)], capture_output=True, text=True, env=env, timeout=30).stdout)
    assert metadata_only["user_site_distributions"] == {name: "0.0.1"}
    assert name not in metadata_only["shadowed_by_user_site"]
    module = name.replace("-", "_")
    (Path(first["user_site"]) / module).mkdir()
    (Path(first["user_site"]) / module / "__init__.py").write_text("")
    second = json.loads(subprocess.run([other, str(PYINFO)], capture_output=True, text=True, env=env, timeout=30).stdout)
    assert name in second["shadowed_by_user_site"]
    origin = second["import_origins"][module]
    assert origin["origin"] == "user_site" and origin["version"] == "0.0.1"
    assert any(o["origin"] == "env" for o in origin["others"])
    # The user-site copy comes first on sys.path, so it is the one import would use.
    assert second["distributions"][name] == "0.0.1"


def test_shebang_forms(tmp_path, clean_env):
    ctx = make_ctx(clean_env, tmp_path)
    plain = make_executable(tmp_path / "a/pip", "#!/opt/env/bin/python3.11\n")
    trampoline = make_executable(tmp_path / "b/pip", "#!/bin/sh\n'''exec' \"/very/long/env/bin/python\" \"$0\" \"$@\"\n' '''\n")
    shim = make_executable(tmp_path / "c/pip", "#!/usr/bin/env bash\nexec pyenv exec pip \"$@\"\n")
    assert read_shebang_interpreter(str(plain), ctx) == "/opt/env/bin/python3.11"
    assert read_shebang_interpreter(str(trampoline), ctx) == "/very/long/env/bin/python"
    assert read_shebang_interpreter(str(shim), ctx) is None


def test_pyenv_shims_are_resolved_with_pyenv_which(tmp_path, clean_env):
    from envcheck.facts.python_env import _on_path

    root = tmp_path / "pyenv"
    version_bin = root / "versions/3.10.14/bin"
    make_executable(version_bin / "python", "")
    make_executable(version_bin / "pip", f"#!{version_bin}/python\n")
    for name in ("python", "pip"):
        make_executable(root / "shims" / name, f"#!/usr/bin/env bash\nexec pyenv exec {name} \"$@\"\n")
    # A stand-in for pyenv's own `pyenv which NAME`: prints the executable the shim would run.
    make_executable(root / "bin/pyenv", f"#!/bin/sh\n[ \"$1\" = which ] && echo {version_bin}/$2\n")
    env = dict(clean_env, PATH=f"{root / 'shims'}:{root / 'bin'}:/usr/bin:/bin")
    ctx = make_ctx(env, tmp_path)
    pip = _on_path(ctx, "pip")
    assert pip["path"] == str(root / "shims/pip")
    assert pip["pyenv_shim_for"] == str(version_bin / "pip")
    assert pip["interpreter"] == str(version_bin / "python")
    assert pip["installs_into"] == str(root / "versions/3.10.14")
    assert _on_path(ctx, "python")["prefix"] == str(root / "versions/3.10.14")
    # Not a shim: nothing is resolved.
    make_executable(tmp_path / "plain/bin/pip", f"#!{version_bin}/python\n")
    plain = _on_path(make_ctx(dict(clean_env, PATH=str(tmp_path / "plain/bin")), tmp_path), "pip")
    assert plain["pyenv_shim_for"] is None


# --- paths ----------------------------------------------------------------------------------


def test_paths_entries_shadowing_and_cuda_libraries(tmp_path, clean_env):
    first, second = tmp_path / "first", tmp_path / "second"
    make_executable(first / "python", "#!/bin/sh\n")
    make_executable(second / "python", "#!/bin/sh\n")
    make_executable(second / "nvcc", "#!/bin/sh\n")
    (second / "pip").write_text("not executable")
    cuda118 = tmp_path / "usr/local/cuda-11.8/lib64"
    cuda118.mkdir(parents=True)
    (cuda118 / "libcudart.so.11.0").write_text("")
    (cuda118 / "libcublasLt.so.11").write_text("")
    pip_libs = tmp_path / "site-packages/nvidia/cuda_runtime/lib"
    pip_libs.mkdir(parents=True)
    (pip_libs / "libcudart.so.12.4.127").write_text("")
    os.symlink("libcudart.so.12.4.127", pip_libs / "libcudart.so")
    cudnn_only = tmp_path / "cudnn"
    cudnn_only.mkdir()
    (cudnn_only / "libcudnn.so.9").write_text("")
    env = dict(
        clean_env,
        PATH=f"{first}:{tmp_path}/nope:{second}:{first}:",
        LD_LIBRARY_PATH=f"{cuda118}:{pip_libs}:{cudnn_only}",
        LD_PRELOAD="/usr/lib/libtcmalloc.so",
    )
    data = collect_paths(make_ctx(env, tmp_path))

    path = data["path"]
    assert [e["dir"] for e in path] == [str(first), f"{tmp_path}/nope", str(second), str(first), ""]
    assert path[1]["exists"] is False and path[1]["is_dir"] is False
    assert path[3]["duplicate_of"] == 0 and path[0]["duplicate_of"] is None
    assert [hit["dir"] for hit in data["shadowed"]["python"]] == [str(first), str(second)]
    assert [hit["dir"] for hit in data["shadowed"]["nvcc"]] == [str(second)]
    assert "pip" not in data["shadowed"]  # present but not executable

    libs = {e["dir"]: e for e in data["ld_library_path"]}
    assert libs[str(cuda118)]["cuda_version"] == "11.8" and libs[str(cuda118)]["cuda_version_source"] == "path"
    assert "libcudart.so.11.0" in libs[str(cuda118)]["cuda_libraries"]
    assert libs[str(pip_libs)]["cuda_version"] == "12.4"
    assert libs[str(pip_libs)]["cuda_libraries"] == ["libcudart.so", "libcudart.so.12.4.127"]
    assert libs[str(cudnn_only)]["cuda_version"] == "unknown"
    assert libs[str(cudnn_only)]["cuda_libraries"] == ["libcudnn.so.9"]
    assert data["ld_preload"] == "/usr/lib/libtcmalloc.so"


def test_cuda_version_guesses():
    assert cuda_version_from_dir("/usr/local/cuda-12.1/targets/x86_64-linux/lib") == "12.1"
    assert cuda_version_from_dir("/usr/local/cuda/lib64") is None
    # The CUDA 11 soname is libcudart.so.11.0 for every 11.x: only the major is known.
    assert cuda_version_from_libs(["libcudart.so.11.0"]) == "11"
    assert cuda_version_from_libs(["libcudart.so.12"]) == "12"
    assert cuda_version_from_libs(["libcudart.so.12", "libcudart.so.12.8.90"]) == "12.8"
    assert cuda_version_from_libs(["libcudnn.so.9"]) is None


# --- shell ----------------------------------------------------------------------------------

BASHRC = """\
# ~/.bashrc
export PATH="$HOME/.local/bin:$PATH"
# export CUDA_VISIBLE_DEVICES=3
# >>> conda initialize >>>
__conda_setup="$('/home/u/miniconda3/bin/conda' 'shell.bash' 'hook' 2> /dev/null)"
    export PATH="/home/u/miniconda3/bin:$PATH"
# <<< conda initialize <<<
export PATH="/opt/python3.11/bin:$PATH"
export CUDA_VISIBLE_DEVICES=0
export https_proxy=http://alice:s3cretpw@127.0.0.1:7890
HTTP_PROXY="http://127.0.0.1:7890"
export LD_LIBRARY_PATH=/usr/local/cuda-11.8/lib64:$LD_LIBRARY_PATH
alias python=python3
"""


def test_shell_scans_startup_files(tmp_path, clean_env):
    home = Path(clean_env["HOME"])
    (home / ".bashrc").write_text(BASHRC)
    (home / ".bash_profile").write_text("export PATH=$HOME/bin:$PATH\n")
    (home / ".profile").write_text('if [ -n "$BASH_VERSION" ]; then\n    . "$HOME/.bashrc"\nfi\n')
    make_executable(home / ".local/bin/python", "#!/bin/sh\n")
    env = dict(clean_env, SHELL="/bin/bash")
    data = collect_shell(make_ctx(env, tmp_path))

    bashrc = data["files"][".bashrc"]
    assert bashrc["conda_init"] is True and bashrc["conda_init_lines"] == [4, 7]
    by_line = {a["line"]: a for a in bashrc["assignments"]}
    assert sorted(by_line) == [2, 6, 8, 9, 10, 11, 12]  # comments and the alias are not assignments
    assert by_line[2]["parts"][0] == {"dir": f"{home}/.local/bin", "exists": True, "guarded": False, "default_dir": True, "prepended": True,
                                      "replaces_old_value": False, "python_executables": ["python"]}
    assert by_line[6]["in_conda_block"] is True and by_line[8]["in_conda_block"] is False
    assert by_line[8]["parts"][0]["exists"] is False
    assert by_line[9]["name"] == "CUDA_VISIBLE_DEVICES" and by_line[9]["file"] == str(home / ".bashrc")
    assert by_line[10]["name"] == "https_proxy"
    assert "s3cretpw" not in by_line[10]["text"] and "alice" not in by_line[10]["text"]
    assert by_line[11]["exported"] is False and by_line[11]["name"] == "HTTP_PROXY"
    assert by_line[12]["name"] == "LD_LIBRARY_PATH"
    assert "s3cretpw" not in json.dumps(data)

    assert data["files"][".bash_profile"]["sources_bashrc"] is False
    assert data["files"][".profile"]["sources_bashrc"] is True
    # A login bash reads ~/.bash_profile and stops: ~/.profile is never read.
    assert data["files"][".bash_profile"]["read"] is True and data["files"][".profile"]["read"] is False
    assert data["files"][".zshrc"] == {"path": str(home / ".zshrc"), "exists": False}
    assert data["login_shell_name"] == "bash"


def test_shell_finds_conda_in_default_location(tmp_path, clean_env):
    home = Path(clean_env["HOME"])
    make_executable(home / "miniforge3/bin/conda", "#!/bin/sh\n")
    data = collect_shell(make_ctx(clean_env, tmp_path))
    assert data["conda"] == {"installed": True, "exe": str(home / "miniforge3/bin/conda")}
    assert not any(info["exists"] for info in data["files"].values())


# --- proxy ----------------------------------------------------------------------------------


def test_parse_proxy_url_never_keeps_the_password():
    parsed = parse_proxy_url("http://bob:hunter2@10.1.2.3:3128")
    assert parsed["scheme"] == "http" and parsed["host"] == "10.1.2.3" and parsed["port"] == 3128
    assert parsed["has_credentials"] is True and "hunter2" not in json.dumps(parsed)
    assert parse_proxy_url("127.0.0.1:7890")["missing_scheme"] is True
    assert parse_proxy_url("127.0.0.1:7890")["effective_port"] == 7890
    assert "unknown scheme" in parse_proxy_url("htpp://127.0.0.1:7890")["error"]
    bad_port = parse_proxy_url("http://bob:hunter2@127.0.0.1:78x0")
    assert bad_port["error"] and "hunter2" not in json.dumps(bad_port)
    assert parse_proxy_url("socks5h://127.0.0.1")["effective_port"] == 1080


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def closed_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_proxy_variables_and_reachability(tmp_path, clean_env, listener):
    dead = closed_port()
    env = dict(
        clean_env,
        http_proxy=f"http://user:pw123456@127.0.0.1:{listener}",
        HTTP_PROXY=f"http://127.0.0.1:{listener}",
        https_proxy=f"http://127.0.0.1:{dead}",
        no_proxy="localhost, 127.0.0.1",
        PIP_CONFIG_FILE=os.devnull,
    )
    data = collect_proxy(make_ctx(env, tmp_path, python=sys.executable))
    variables = data["variables"]
    assert set(variables) == {"http_proxy", "HTTP_PROXY", "https_proxy", "no_proxy"}
    assert variables["http_proxy"]["has_credentials"] is True
    assert variables["http_proxy"]["url"] == f"http://***@127.0.0.1:{listener}"
    assert variables["no_proxy"]["entries"] == ["localhost", "127.0.0.1"]
    status = {(p["host"], p["port"]): p["status"] for p in data["reachability"]}
    assert status == {("127.0.0.1", listener): "reachable", ("127.0.0.1", dead): "unreachable"}
    assert "pw123456" not in json.dumps(data)


def test_proxy_offline_pip_config_and_condarc(tmp_path, clean_env):
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\nproxy = http://carol:pipsecret@10.9.8.7:3128\n")
    home = Path(clean_env["HOME"])
    (home / ".condarc").write_text("proxy_servers:\n  http: http://dave:condasecret@10.0.0.2:8080\n  https: http://10.0.0.2:8080\n")
    env = dict(clean_env, ALL_PROXY="socks5://127.0.0.1:7891", PIP_CONFIG_FILE=str(pip_conf))
    data = collect_proxy(make_ctx(env, tmp_path, python=sys.executable, offline=True))
    assert data["variables"]["ALL_PROXY"]["scheme"] == "socks5"
    assert data["pip_config"]["error"] is None
    assert data["pip_config"]["proxy"]["host"] == "10.9.8.7" and data["pip_config"]["proxy"]["has_credentials"]
    assert set(data["conda"]["proxy_servers"]) == {"http", "https"}
    assert data["conda"]["proxy_servers"]["http"]["port"] == 8080
    assert {p["status"] for p in data["reachability"]} == {"skipped (offline)"}
    assert {(p["host"], p["port"]) for p in data["reachability"]} == {("127.0.0.1", 7891), ("10.9.8.7", 3128), ("10.0.0.2", 8080)}
    text = json.dumps(data)
    assert "pipsecret" not in text and "condasecret" not in text


def test_proxy_bad_condarc_is_data(tmp_path, clean_env):
    home = Path(clean_env["HOME"])
    (home / ".condarc").write_text("proxy_servers: [unclosed\n")
    data = collect_proxy(make_ctx(dict(clean_env, PIP_CONFIG_FILE=os.devnull), tmp_path, python=sys.executable, offline=True))
    assert "not valid YAML" in data["conda"]["error"]
    assert data["variables"] == {} and data["reachability"] == []


# --- terminal -------------------------------------------------------------------------------


def test_terminal_inside_tmux_with_session_name(tmp_path, clean_env):
    bin_dir = tmp_path / "bin"
    make_executable(bin_dir / "tmux", "#!/bin/sh\necho train_resnet18\n")
    env = dict(clean_env, PATH=f"{bin_dir}:/usr/bin:/bin", TMUX="/tmp/tmux-1000/default,1234,0", SSH_CONNECTION="1 2 3 4")
    data = collect_terminal(make_ctx(env, tmp_path))
    assert data["in_tmux"] is True and data["tmux_session"] == "train_resnet18"
    assert data["tmux_installed"] is True and data["over_ssh"] is True


def test_terminal_outside_tmux(tmp_path, clean_env):
    env = dict(clean_env, PATH=str(tmp_path / "empty"), STY="4242.pts-0.host")
    data = collect_terminal(make_ctx(env, tmp_path))
    assert data["in_tmux"] is False and data["tmux_session"] is None
    assert data["tmux_installed"] is False and data["screen_installed"] is False
    assert data["in_screen"] is True and data["over_ssh"] is False


def test_pip_config_files_follow_pips_order_and_devnull(tmp_path, clean_env):
    from envcheck.facts.proxy import pip_config_files

    sys_root = tmp_path / "root"
    (sys_root / "etc" / "xdg" / "pip").mkdir(parents=True)
    (sys_root / "etc" / "xdg" / "pip" / "pip.conf").write_text("[global]\nproxy = http://10.0.0.1:1\n")
    home = Path(clean_env["HOME"])
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text("[global]\nproxy = http://10.0.0.2:2\n[install]\ntimeout = 60\n")
    ctx = make_ctx(dict(clean_env), tmp_path, python=sys.executable, sys_root=sys_root, offline=True)
    files = pip_config_files(ctx)
    assert files.index(sys_root / "etc/xdg/pip/pip.conf") < files.index(home / ".config/pip/pip.conf")
    data = collect_proxy(ctx)
    # The user file overrides the global one, as in pip.
    assert data["pip_config"]["proxy"]["host"] == "10.0.0.2"
    assert data["pip_config"]["entries"]["install.timeout"] == "60"
    disabled = collect_proxy(make_ctx(dict(clean_env, PIP_CONFIG_FILE=os.devnull), tmp_path, python=sys.executable,
                                      sys_root=sys_root, offline=True))
    assert disabled["pip_config"] == {"entries": {}, "proxy": None, "error": None}


def test_cgroup_limits_v2_and_v1(tmp_path, clean_env):
    from envcheck.facts.system import _cgroup_limits

    v2 = tmp_path / "v2"
    (v2 / "sys/fs/cgroup").mkdir(parents=True)
    (v2 / "sys/fs/cgroup/cpu.max").write_text("400000 100000\n")
    (v2 / "sys/fs/cgroup/memory.max").write_text("17179869184\n")
    assert _cgroup_limits(make_ctx(dict(clean_env), tmp_path, sys_root=v2)) == {"version": 2, "cpus": 4.0, "memory_bytes": 16 * 2**30}
    (v2 / "sys/fs/cgroup/cpu.max").write_text("max 100000\n")
    (v2 / "sys/fs/cgroup/memory.max").write_text("max\n")
    assert _cgroup_limits(make_ctx(dict(clean_env), tmp_path, sys_root=v2)) == {"version": 2, "cpus": None, "memory_bytes": None}

    v1 = tmp_path / "v1"
    (v1 / "sys/fs/cgroup/cpu").mkdir(parents=True)
    (v1 / "sys/fs/cgroup/memory").mkdir(parents=True)
    (v1 / "sys/fs/cgroup/cpu/cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "sys/fs/cgroup/cpu/cpu.cfs_period_us").write_text("100000\n")
    (v1 / "sys/fs/cgroup/memory/memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert _cgroup_limits(make_ctx(dict(clean_env), tmp_path, sys_root=v1)) == {"version": 1, "cpus": None, "memory_bytes": None}
    (v1 / "sys/fs/cgroup/cpu/cpu.cfs_quota_us").write_text("250000\n")
    assert _cgroup_limits(make_ctx(dict(clean_env), tmp_path, sys_root=v1))["cpus"] == 2.5

    none = tmp_path / "none"
    none.mkdir()
    assert _cgroup_limits(make_ctx(dict(clean_env), tmp_path, sys_root=none)) == {"version": None, "cpus": None, "memory_bytes": None}


def test_memory_and_disk_figures_are_what_psutil_reports():
    # The system collector reads /proc/meminfo and statvfs itself (psutil's import cost 35-130 ms of
    # every doctor run); the figures must stay the ones psutil gives.
    import shutil

    import psutil

    from envcheck.facts.system import _disks, _memory

    total, available = _memory()
    memory = psutil.virtual_memory()
    assert total == memory.total > 0
    assert abs(available - memory.available) < 0.05 * memory.total  # both read a moving MemAvailable
    ctx = Context(env={"TMPDIR": "/tmp"}, home=Path("/"), cwd=Path("/"))
    for disk in _disks(ctx):
        usage = psutil.disk_usage(disk["path"])
        assert disk["total_bytes"] == usage.total and abs(disk["free_bytes"] - usage.free) < 64 * 1024**2
    assert "psutil" not in __import__("envcheck.facts.system").facts.system.__dict__
    assert shutil.disk_usage("/").total == psutil.disk_usage("/").total


def test_pyenv_is_asked_once_for_every_shim(tmp_path, clean_env):
    """`pyenv version-name` once, then <root>/versions/<v>/bin/NAME (or the next NAME on PATH
    for "system") for every shim: `pyenv which` per name cost ~0.05 CPU-s each. `pyenv which`
    stays the answer where the versions do not settle it."""
    from envcheck.facts.python_env import _all_on_path

    root = tmp_path / "pyenv"
    version_bin = root / "versions/3.10.14/bin"
    for name in ("python", "python3"):
        make_executable(version_bin / name, "")
    make_executable(version_bin / "pip", f"#!{version_bin}/python\n")
    make_executable(tmp_path / "usr/bin/pip3", f"#!{tmp_path}/usr/bin/python3\n")  # only the system has pip3
    for name in ("python", "python3", "pip", "pip3"):
        make_executable(root / "shims" / name, f"#!/usr/bin/env bash\nexec pyenv exec {name} \"$@\"\n")
    log = tmp_path / "pyenv-calls"
    make_executable(root / "bin/pyenv", f"#!/bin/sh\necho \"$@\" >> {log}\n"
                                       f"[ \"$1\" = version-name ] && echo 3.10.14:system\n"
                                       f"[ \"$1\" = which ] && echo /nowhere/$2\nexit 0\n")
    env = dict(clean_env, PATH=f"{root / 'shims'}:{root / 'bin'}:{tmp_path / 'usr/bin'}:/usr/bin:/bin")
    found = _all_on_path(make_ctx(env, tmp_path), ("python", "python3", "pip", "pip3"))
    assert found["python"]["pyenv_shim_for"] == str(version_bin / "python")
    assert found["pip"]["pyenv_shim_for"] == str(version_bin / "pip")
    assert found["pip"]["installs_into"] == str(root / "versions/3.10.14")
    assert found["pip3"]["pyenv_shim_for"] == str(tmp_path / "usr/bin/pip3")  # "system": the next pip3 on PATH
    assert log.read_text().split("\n")[:-1] == ["version-name"]
    # A version pyenv names but that is not installed: `pyenv which` decides (here: nothing).
    log.unlink()
    make_executable(root / "bin/pyenv", f"#!/bin/sh\necho \"$@\" >> {log}\n"
                                       f"[ \"$1\" = version-name ] && echo 3.99.0\n"
                                       f"[ \"$1\" = which ] && echo {version_bin}/$2\nexit 0\n")
    found = _all_on_path(make_ctx(env, tmp_path), ("python", "pip"))
    assert found["python"]["pyenv_shim_for"] == str(version_bin / "python")
    assert log.read_text().split("\n")[:-1] == ["version-name", "which python", "which pip"]
