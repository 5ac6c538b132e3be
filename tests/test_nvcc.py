"""The nvcc collector (torch's CUDA_HOME lookup order, against fake toolkits on disk) and the
nvcc-vs-torch checks (torch.utils.cpp_extension's rule; a mismatch breaks only extension builds, so it warns)."""

from __future__ import annotations

from pathlib import Path

from envcheck.checks import all_checks, run_checks
from envcheck.core.context import Context
from envcheck.facts.nvcc import collect_nvcc, parse_nvcc_version
from envcheck.core.model import Facts, Status

REAL_NVCC_13_0 = (Path(__file__).resolve().parent / "fixtures" / "probe" / "nvcc-13.0_version_real.txt").read_text()


def nvcc_output(release: str, build: str) -> str:
    # The real 13.0 output with the version numbers swapped: the format is what matters.
    return REAL_NVCC_13_0.replace("release 13.0, V13.0.88", f"release {release}, V{build}")


def toolkit(root: Path, folder: str, release: str, build: str, headers: bool = True) -> Path:
    """A fake CUDA toolkit: bin/nvcc printing a real-format --version, and include/cuda_runtime.h."""
    home = root / folder
    (home / "bin").mkdir(parents=True)
    nvcc = home / "bin" / "nvcc"
    out = home / "version.txt"
    out.write_text(nvcc_output(release, build))
    nvcc.write_text(f"#!/bin/sh\nexec /bin/cat {out}\n")
    nvcc.chmod(0o755)
    if headers:
        (home / "include").mkdir()
        (home / "include" / "cuda_runtime.h").write_text("/* fake */\n")
    return home


def test_parse_real_nvcc_output():
    assert parse_nvcc_version(REAL_NVCC_13_0) == {"release": "13.0", "build": "13.0.88"}
    assert parse_nvcc_version("garbage") == {"release": None, "build": None}


def test_collector_follows_torchs_lookup_order(tmp_path):
    on_path = toolkit(tmp_path, "cuda-12.4", "12.4", "12.4.131")
    other = toolkit(tmp_path, "cuda-12.8", "12.8", "12.8.93")
    env = {"PATH": f"{on_path / 'bin'}:/usr/bin:/bin"}
    sys_root = tmp_path / "root"
    sys_root.mkdir()

    data = collect_nvcc(Context(env=env, sys_root=sys_root))
    assert data["path_nvcc_version"]["release"] == "12.4"
    assert data["torch_cuda_home"] == str(on_path) and data["torch_cuda_home_source"] == "nvcc on PATH"
    assert data["home_nvcc_version"]["build"] == "12.4.131" and data["home_has_headers"] is True

    # CUDA_HOME wins over PATH; relative to sys_root so a fake tree works.
    env["CUDA_HOME"] = "/opt/cuda-12.8"
    (sys_root / "opt").mkdir()
    (sys_root / "opt" / "cuda-12.8").symlink_to(other)
    data = collect_nvcc(Context(env=env, sys_root=sys_root))
    assert data["torch_cuda_home"] == "/opt/cuda-12.8" and data["torch_cuda_home_source"] == "CUDA_HOME"
    assert data["home_nvcc_version"]["release"] == "12.8" and data["path_nvcc_version"]["release"] == "12.4"

    # CUDA_PATH when CUDA_HOME is unset.
    env.pop("CUDA_HOME")
    env["CUDA_PATH"] = "/opt/cuda-12.8"
    assert collect_nvcc(Context(env=env, sys_root=sys_root))["torch_cuda_home_source"] == "CUDA_PATH"


def test_collector_falls_back_to_usr_local_cuda_and_handles_no_toolkit(tmp_path):
    sys_root = tmp_path / "root"
    (sys_root / "usr" / "local").mkdir(parents=True)
    env = {"PATH": "/nonexistent"}
    data = collect_nvcc(Context(env=env, sys_root=sys_root))
    assert data["path_nvcc"] is None and data["torch_cuda_home"] is None
    toolkit(sys_root / "usr" / "local", "cuda", "13.0", "13.0.88")
    data = collect_nvcc(Context(env=env, sys_root=sys_root))
    assert data["torch_cuda_home"] == "/usr/local/cuda" and data["home_nvcc_exists"] is True
    assert data["home_nvcc_version"]["release"] == "13.0"


def test_nvcc_wrapper_in_usr_local_bin_makes_torch_pick_a_home_without_headers(tmp_path):
    # The dev machine's real layout: /usr/local/bin/nvcc is a script exec'ing the toolkit's nvcc.
    real = toolkit(tmp_path, "usr/local/cuda-13.0", "13.0", "13.0.88")
    wrapper_bin = tmp_path / "usr" / "local" / "bin"
    wrapper_bin.mkdir(parents=True)
    (wrapper_bin / "nvcc").write_text(f"#!/bin/sh\nexec {real}/bin/nvcc \"$@\"\n")
    (wrapper_bin / "nvcc").chmod(0o755)
    (tmp_path / "usr" / "local" / "cuda").symlink_to(real)
    data = collect_nvcc(Context(env={"PATH": str(wrapper_bin)}, sys_root=tmp_path))
    assert data["torch_cuda_home"] == str(tmp_path / "usr" / "local")
    assert data["home_has_headers"] is False and data["header_homes"] == ["/usr/local/cuda"]
    found = _run(data, _torch("13.0"))
    assert found["nvcc.cuda_home"].status is Status.WARN and found["nvcc.cuda_home"].fix == "export CUDA_HOME=/usr/local/cuda"
    assert found["nvcc.version"].status is Status.OK


def _torch(cuda):
    return {"status": "ok", "version": f"2.14.1+cu{cuda.replace('.', '')}" if cuda else "2.14.1+cpu", "cuda": cuda}


def _nvcc(release=None, build=None, path_release=None, home="/usr/local/cuda", source="nvcc on PATH", **extra):
    version = {"release": release, "build": build, "error": None} if release else None
    data = {
        "path_nvcc": f"{home}/bin/nvcc" if release else None,
        "path_nvcc_version": {"release": path_release or release, "build": build, "error": None} if release else None,
        "cuda_home_env": None, "cuda_path_env": None, "cuda_home_is_dir": None,
        "torch_cuda_home": home if release else None, "torch_cuda_home_source": source if release else None,
        "home_nvcc": f"{home}/bin/nvcc" if release else None, "home_nvcc_exists": bool(release),
        "home_nvcc_version": version, "home_has_headers": True if release else None, "header_homes": [],
    }
    data.update(extra)
    return data


def _run(nvcc, torch, nvidia=None):
    facts = Facts.of(nvcc=nvcc, torch=torch, nvidia=nvidia or {"cuda_driver_version": "13.1", "driver_version": "590.48.01", "gpus": []})
    return {f.id: f for f in run_checks([c for c in all_checks().values() if c.id.startswith("nvcc.")], facts)}


def test_nvcc_major_mismatch_warns_that_only_extension_builds_break():
    found = _run(_nvcc("12.4", "12.4.131"), _torch("13.0"))
    check = found["nvcc.version"]
    # Only extension builds run nvcc: an otherwise healthy environment does not fail over it.
    assert check.status is Status.WARN and "will not build" in check.summary
    assert "torch itself and training are not affected" in check.summary
    assert "cuda-toolkit=13.0" in check.fix
    # The three values users confuse, labelled.
    joined = "\n".join(check.details)
    assert "driver supports CUDA up to: 13.1" in joined and "nvcc used for extension builds: 12.4" in joined
    assert "torch built with CUDA: 13.0" in joined


def test_nvcc_minor_mismatch_warns_and_match_is_ok():
    assert _run(_nvcc("12.4", "12.4.131"), _torch("12.6"))["nvcc.version"].status is Status.WARN
    assert _run(_nvcc("12.6", "12.6.85"), _torch("12.6"))["nvcc.version"].status is Status.OK


def test_no_nvcc_is_fine_unless_building_extensions():
    check = _run(_nvcc(), _torch("13.0"))["nvcc.version"]
    assert check.status is Status.OK and "unless you build CUDA extensions" in check.summary
    assert any("cuda-toolkit=13.0" in d for d in check.details)
    assert "nvcc.cuda_home" not in _run(_nvcc(), _torch("13.0"))


def test_cuda_home_not_a_directory_fails():
    nvcc = _nvcc(cuda_home_env="/usr/local/cuda-99", cuda_home_is_dir=False, torch_cuda_home="/usr/local/cuda-99",
                 torch_cuda_home_source="CUDA_HOME", home_nvcc_exists=False, home_nvcc_version=None)
    check = _run(nvcc, _torch("13.0"))["nvcc.cuda_home"]
    assert check.status is Status.FAIL and "not a directory" in check.summary


def test_cuda_home_nvcc_differs_from_path_nvcc_warns():
    nvcc = _nvcc("12.8", "12.8.93", path_release="12.4", home="/opt/cuda-12.8", source="CUDA_HOME",
                 path_nvcc="/usr/bin/nvcc", cuda_home_env="/opt/cuda-12.8", cuda_home_is_dir=True)
    found = _run(nvcc, _torch("12.8"))
    assert found["nvcc.cuda_home"].status is Status.WARN and "CUDA_HOME first" in found["nvcc.cuda_home"].summary
    # The builder's nvcc (CUDA_HOME's) is the one compared with torch.
    assert found["nvcc.version"].status is Status.OK
