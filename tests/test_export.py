"""envcheck export: requirement lines, PyTorch index lines, conda files, snapshots, -o safety."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from envcheck.export import envfiles

from envcheck.target import pkginfo
from envcheck.commands import common
from envcheck.core.model import Facts
from envcheck.export.snapshot import build_snapshot, dump_snapshot
from _cli import run_cli




def dist(name, version, requested=True, installer="pip", direct_url=None):
    return {"name": name, "version": version, "installer": installer, "requested": requested,
            "direct_url": direct_url, "location": "/env/lib/python3.11/site-packages"}


# --- which build needs which index ------------------------------------------------------------


@pytest.mark.parametrize(
    "version, expected",
    [
        ("2.1.2+cu118", "https://download.pytorch.org/whl/cu118"),
        ("2.5.1+cu124", "https://download.pytorch.org/whl/cu124"),
        ("2.3.0+cpu", "https://download.pytorch.org/whl/cpu"),
        ("2.5.1+rocm6.2", "https://download.pytorch.org/whl/rocm6.2"),
        ("2.6.0.dev20241101+cu124", "https://download.pytorch.org/whl/nightly/cu124"),
        ("2.14.1", None),  # the PyPI build
        ("2.1.2+pt21cu118", None),  # a PyG wheel: not on the PyTorch index
    ],
)
def test_pytorch_index_url(version, expected):
    assert envfiles.pytorch_index_url(version) == expected


def test_cuda_variant_pins_get_one_extra_index_line():
    text = envfiles.render_requirements(
        [dist("torch", "2.1.2+cu118"), dist("torchvision", "0.16.2+cu118"), dist("six", "1.16.0")]
    )
    lines = text.splitlines()
    assert lines.count("--extra-index-url https://download.pytorch.org/whl/cu118") == 1
    assert "torch==2.1.2+cu118" in lines and "torchvision==0.16.2+cu118" in lines and "six==1.16.0" in lines
    # pip reads options anywhere, but people read top-down: the index line comes before the pins.
    assert lines.index("--extra-index-url https://download.pytorch.org/whl/cu118") < lines.index("torch==2.1.2+cu118")


def test_cpu_build_gets_cpu_index_and_plain_build_gets_none():
    cpu = envfiles.render_requirements([dist("torch", "2.3.0+cpu")])
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in cpu.splitlines()
    plain = envfiles.render_requirements([dist("torch", "2.14.1"), dist("triton", "3.8.0")])
    assert "index-url" not in plain
    assert "torch==2.14.1" in plain.splitlines() and "triton==3.8.0" in plain.splitlines()


def test_unknown_local_label_is_pinned_with_an_explanation():
    text = envfiles.render_requirements([dist("torch-scatter", "2.1.2+pt21cu118")])
    assert "torch-scatter==2.1.2+pt21cu118" in text.splitlines()
    assert not any(line.startswith("--") for line in text.splitlines())
    assert "only the index it came from" in text


def test_editable_vcs_local_and_url_installs():
    exists = {"/home/u/proj", "/wheels/pkg-1.0-py3-none-any.whl"}.__contains__
    dists = [
        dist("proj", "0.1", direct_url={"url": "file:///home/u/proj", "dir_info": {"editable": True}}),
        dist("gone", "0.2", direct_url={"url": "file:///tmp/deleted", "dir_info": {"editable": True}}),
        dist("lib", "1.0", direct_url={"url": "file:///home/u/proj", "dir_info": {}}),
        dist("pkg", "1.0", direct_url={"url": "file:///wheels/pkg-1.0-py3-none-any.whl", "archive_info": {}}),
        dist("tool", "2.0", direct_url={
            "url": "https://alice:s3cret@github.com/org/tool.git",
            "vcs_info": {"vcs": "git", "commit_id": "0123456789abcdef0123456789abcdef01234567", "requested_revision": "main"},
        }),
        dist("remote", "3.0", direct_url={
            "url": "https://example.org/remote-3.0.tar.gz", "archive_info": {"hashes": {"sha256": "ab" * 32}},
        }),
    ]
    text = envfiles.render_requirements(dists, exists=exists)
    lines = text.splitlines()
    assert "-e /home/u/proj" in lines
    assert "lib @ file:///home/u/proj" in lines
    assert "pkg @ file:///wheels/pkg-1.0-py3-none-any.whl" in lines
    assert "tool @ git+https://***@github.com/org/tool.git@0123456789abcdef0123456789abcdef01234567" in lines
    assert f"remote @ https://example.org/remote-3.0.tar.gz#sha256={'ab' * 32}" in lines
    # A deleted editable checkout cannot be reinstalled: no pip line, a comment that says why.
    assert not any(line.startswith("-e /tmp/deleted") for line in lines)
    assert any(line.startswith("#") and "/tmp/deleted" in line and "no longer exists" in line for line in lines)
    assert "s3cret" not in text and "alice" not in text


def test_only_requested_and_bootstrap_filtering():
    dists = [dist("torch", "2.14.1"), dist("filelock", "3.0", requested=False), dist("pip", "24.0"), dist("setuptools", "70.0")]
    assert [d["name"] for d in envfiles.select_distributions(dists)] == ["filelock", "torch"]
    assert [d["name"] for d in envfiles.select_distributions(dists, only_requested=True)] == ["torch"]
    assert [d["name"] for d in envfiles.select_distributions(dists, include_bootstrap=True)] == ["filelock", "pip", "setuptools", "torch"]


def test_header_records_python_torch_cuda_and_driver():
    lines = envfiles.header_lines(
        {"version": "3.11.7", "executable": "/env/bin/python", "implementation": "CPython", "platform": "linux", "machine": "x86_64"},
        {"version": "2.14.1+cu130", "cuda": "13.0"},
        {"driver_version": "580.65.06", "cuda_driver_version": "13.0", "gpus": [{"name": "NVIDIA H100"}, {"name": "NVIDIA H100"}]},
        "0.1.0",
    )
    text = "\n".join(lines)
    assert "Python 3.11.7" in text
    assert "torch 2.14.1+cu130, built for CUDA 13.0" in text
    assert "NVIDIA driver 580.65.06 (supports CUDA up to 13.0); GPUs: 2 x NVIDIA H100" in text
    pypi = "\n".join(envfiles.header_lines({}, {"version": "2.14.1+cu130", "cuda": "13.0"}, {}, "0.1.0", torch_dist_version="2.14.1"))
    assert "torch 2.14.1+cu130, built for CUDA 13.0; installed as 2.14.1, the PyPI build" in pypi
    unknown = "\n".join(envfiles.header_lines({"version": "3.10.1"}, {}, {}, "0.1.0", torch_dist_version="2.1.2+cu118"))
    assert "torch 2.1.2+cu118, built for CUDA 11.8 (from its +cu label)" in unknown
    assert "NVIDIA driver: unknown" in unknown


# --- conda ------------------------------------------------------------------------------------


def _fake_conda_prefix(root: Path) -> Path:
    prefix = root / "miniconda3" / "envs" / "vision"
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    records = [
        {"name": "python", "version": "3.10.14", "build": "h955ad1f_1", "channel": "https://conda.anaconda.org/conda-forge/linux-64"},
        {"name": "numpy", "version": "1.26.4", "build": "py310hb13e2d6_0", "channel": "https://conda.anaconda.org/conda-forge/linux-64", "requested_spec": "numpy"},
        {"name": "pyyaml", "version": "6.0.1", "build": "py310h2372a71_1", "channel": "https://conda.anaconda.org/conda-forge/linux-64"},
        {"name": "pip", "version": "24.0", "build": "pyhd8ed1ab_0", "channel": "https://conda.anaconda.org/conda-forge/noarch"},
        {"name": "cudatoolkit", "version": "11.8.0", "build": "h6a678d5_0", "channel": "https://conda.anaconda.org/t/tk-SECRET123/nvidia/linux-64"},
    ]
    for record in records:
        (meta / f"{record['name']}-{record['version']}-{record['build']}.json").write_text(json.dumps(record))
    (meta / "history").write_text("==> 2024-01-01 <==\n")
    return prefix


def test_conda_environment_from_a_conda_prefix(tmp_path):
    prefix = _fake_conda_prefix(tmp_path)
    report = {
        "python": {"version": "3.10.14", "prefix": str(prefix)},
        "conda": pkginfo.read_conda_meta(str(prefix)),
        "distributions": [
            dist("numpy", "1.26.4", installer="conda"),
            dist("PyYAML", "6.0.1", installer="conda"),
            dist("torch", "2.1.2+cu118"),
            dist("torchvision", "0.16.2+cu118"),
            dist("pip", "24.0", installer="conda"),
        ],
    }
    document, _notes = envfiles.conda_environment(report)
    text = envfiles.render_conda(document, ["header line"])
    loaded = yaml.safe_load(text)
    assert envfiles.validate_conda_environment(loaded) == []
    assert loaded["name"] == "vision"
    assert loaded["channels"] == ["conda-forge", "nvidia"]
    deps = loaded["dependencies"]
    assert deps[0] == "python=3.10"
    assert "numpy=1.26.4" in deps and "pyyaml=6.0.1" in deps
    assert "nvidia::cudatoolkit=11.8.0" in deps  # not from the main channel: pinned to its own
    assert "pip" in deps
    pip_section = [d for d in deps if isinstance(d, dict)]
    assert pip_section == [{"pip": [
        "--extra-index-url https://download.pytorch.org/whl/cu118",
        "torch==2.1.2+cu118",
        "torchvision==0.16.2+cu118",
    ]}]
    # No build strings (they are platform-specific), and the anaconda.org token is gone.
    assert "h955ad1f_1" not in text and "py310" not in text
    assert "SECRET123" not in text
    assert text.startswith("# header line\n")


def test_conda_format_for_a_plain_venv_puts_everything_under_pip():
    report = {"python": {"version": "3.11.7", "prefix": "/home/u/catdog/.venv"}, "conda": None,
              "distributions": [dist("six", "1.16.0"), dist("torch", "2.3.0+cpu")]}
    document, _ = envfiles.conda_environment(report)
    assert document["name"] == "catdog"
    assert document["dependencies"][:2] == ["python=3.11", "pip"]
    assert document["dependencies"][2]["pip"][0] == "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert envfiles.validate_conda_environment(yaml.safe_load(envfiles.render_conda(document))) == []


def test_conda_validator_catches_what_conda_rejects():
    assert envfiles.validate_conda_environment({"name": "x", "channels": ["c"], "dependencies": [{"pip": ["a"]}]})
    assert envfiles.validate_conda_environment({"name": "", "channels": "c", "dependencies": ["a"]})
    assert envfiles.validate_conda_environment({"name": "x", "channels": [], "dependencies": [{"npm": []}]})


def test_pkginfo_reads_conda_meta_and_skips_junk(tmp_path):
    prefix = _fake_conda_prefix(tmp_path)
    (prefix / "conda-meta" / "broken.json").write_text("{not json")
    info = pkginfo.read_conda_meta(str(prefix))
    assert {p["name"] for p in info["packages"]} == {"python", "numpy", "pyyaml", "pip", "cudatoolkit"}
    assert len(info["errors"]) == 1 and "broken.json" in info["errors"][0]
    assert pkginfo.read_conda_meta(str(tmp_path / "not-conda")) is None


# --- snapshot -----------------------------------------------------------------------------------


def test_snapshot_never_contains_secrets():
    facts = Facts.of(
        env={"vars": {"HF_TOKEN": "hf_topsecretvalue", "https_proxy": "http://bob:hunter2@10.0.0.1:3128",
                      "CUDA_VISIBLE_DEVICES": "0"}},
        torch={"version": "2.14.1+cu130", "cuda": "13.0"},
    )
    report = {"python": {"version": "3.11.7", "executable": "/env/bin/python"}, "conda": None,
              "distributions": [dist("tool", "1.0", direct_url={"url": "https://u:pw123@git.example.com/tool.git",
                                                                "vcs_info": {"vcs": "git", "commit_id": "abc"}})]}
    document = build_snapshot(report, facts.to_dict(), [], "/env/bin/python")
    for fmt in ("yaml", "json"):
        text = dump_snapshot(document, fmt)
        assert "hf_topsecretvalue" not in text and "hunter2" not in text and "pw123" not in text
        assert "***@10.0.0.1:3128" in text
        loaded = yaml.safe_load(text) if fmt == "yaml" else json.loads(text)
        assert loaded["schema_version"] == 1 and loaded["kind"] == "envcheck-snapshot"
        assert loaded["packages"]["tool"]["source"] == "vcs"
        assert loaded["facts"]["torch"]["data"]["cuda"] == "13.0"


# --- the command --------------------------------------------------------------------------------


@pytest.fixture
def no_probes(monkeypatch):
    """The header's torch/nvidia facts: skip the slow torch import in CLI tests."""
    monkeypatch.setattr(common, "runtime_facts", lambda ctx: {"torch": {}, "nvidia": {}})


def test_output_file_is_not_clobbered_without_force(tmp_path, capsys, no_probes):
    target = tmp_path / "requirements.txt"
    target.write_text("keep me\n")
    code, _, err = run_cli(["export", "-o", str(target)], capsys)
    assert code == 2 and "already exists" in err and "--force" in err
    assert target.read_text() == "keep me\n"

    code, _, err = run_cli(["export", "-o", str(target), "--force"], capsys)
    assert code == 0, err
    text = target.read_text()
    assert "# Exported by envcheck" in text and "PyYAML==" in text
    # Written through a temp file and a rename: nothing else is left in the folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.txt"]


def test_bad_format_and_bad_python_are_usage_errors(capsys, no_probes, tmp_path):
    code, _, err = run_cli(["export", "--format", "pipfile"], capsys)
    assert code == 2 and "requirements, conda, snapshot" in err
    code, _, err = run_cli(["export", "--python", str(tmp_path / "nope" / "python")], capsys)
    assert code == 2 and "no such file" in err


def _pip(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_round_trip_through_a_fresh_venv(tmp_path, capsys, no_probes):
    """Export a real venv, then show pip resolves the same versions from the file into a new one."""
    source, fresh = tmp_path / "source", tmp_path / "fresh"
    for venv in (source, fresh):
        # --without-pip keeps creation fast; pip is driven from outside with --python.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    wanted = {"six": "1.16.0", "idna": "3.7"}
    installed = _pip("--python", str(source / "bin" / "python"), "install", "--quiet",
                     *(f"{n}=={v}" for n, v in wanted.items()))
    if installed.returncode != 0:
        pytest.skip(f"PyPI not reachable: {installed.stderr.strip().splitlines()[-1:]}")

    exported = tmp_path / "requirements.txt"
    code, _, err = run_cli(["export", "--python", str(source / "bin" / "python"), "-o", str(exported)], capsys)
    assert code == 0, err
    pins = [line for line in exported.read_text().splitlines() if line and not line.startswith("#")]
    assert sorted(pins) == sorted(f"{n}=={v}" for n, v in wanted.items())

    report_file = tmp_path / "report.json"
    resolved = _pip("--python", str(fresh / "bin" / "python"), "install", "--dry-run", "--quiet",
                    "--report", str(report_file), "-r", str(exported))
    assert resolved.returncode == 0, resolved.stderr
    report = json.loads(report_file.read_text())
    versions = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in report["install"]}
    assert versions == wanted

    # pip marks what the user named: both were named, so --only-requested keeps both.
    code, out, err = run_cli(["export", "--python", str(source / "bin" / "python"), "--only-requested"], capsys)
    assert code == 0, err
    assert {line for line in out.splitlines() if line and not line.startswith("#")} == {"six==1.16.0", "idna==3.7"}
