"""Issue #9: the right root cause, and fixes that work for the person at the keyboard.

- who can carry out a fix (Finding.who, shown in every report format);
- a driver too old for the wheel: the newest torch this driver runs, installed with the target's
  own interpreter, and a driver upgrade only as far as the GPU's last driver branch goes;
- NVML/nvidia-smi error ranking (a version mismatch outranks "library not found");
- GLIBCXX/CXXABI import errors named by the libstdc++ that was loaded;
- torch checks deferring to python.shadowing when torch is a shadowing copy;
- every install command spelled for the target interpreter (`--python`).

Facts come from the fixtures the other test files use: the constructed 2x H100 probe result and
the real nvidia-smi captures (tests/fixtures/probe/README.md, tests/fixtures/nvidia-smi/README.md).
Where a test changes fields to build a scenario, it says where the changed values come from.
"""

from __future__ import annotations

import json

from rich.console import Console

from envcheck.checks import fail, warn
from envcheck.core.model import Facts, Finding, Status
from envcheck.core.render import render_json, render_markdown, render_terminal


# ---------------------------------------------------------------- who can fix it


def test_who_is_rendered_beside_the_fix_and_in_json():
    admin = fail("the kernel module does not match", fix="sudo reboot").by("admin")
    admin.id, admin.area = "driver.kernel_module", "driver"
    you = warn("torchvision is missing", fix="python -m pip install torchvision").by("you")
    you.id, you.area = "torch.torchvision", "torch"
    plain = warn("something", fix="do it")
    plain.id, plain.area = "torch.cudnn", "torch"
    findings = [admin, you, plain]
    facts = Facts.of()
    console = Console(record=True, width=200)
    render_terminal(console, facts, findings, "/usr/bin/python3", verbose=False)
    text = console.export_text()
    assert "fix (needs the machine's admin): sudo reboot" in text
    assert "fix (no admin needed): python -m pip install torchvision" in text
    assert "fix: do it" in text
    doc = json.loads(render_json(facts, findings, "/usr/bin/python3"))
    assert [c["who"] for c in doc["checks"]] == ["admin", "you", None]
    markdown = render_markdown(facts, findings, "/usr/bin/python3")
    assert "fix (needs the machine's admin): `sudo reboot`" in markdown


def test_who_accepts_only_you_admin_or_none():
    finding = Finding("x.y", Status.FAIL, "s")
    assert finding.by(None).who is None
    try:
        finding.by("root")
    except ValueError as exc:
        assert "root" in str(exc)
    else:
        raise AssertionError("who='root' was accepted")


# ---------------------------------------------------------------- torch facts for the scenarios below

import sys
from pathlib import Path

import pytest

from envcheck.checks import all_checks, run_checks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_torch_checks import _old_driver_torch, h100_torch, nvidia, real_cpu_box  # noqa: E402

CONDA_PYTHON = "/home/alice/miniconda3/envs/train/bin/python"


def python_facts(executable: str = CONDA_PYTHON, origins: dict | None = None, **target) -> dict:
    """The python collector's contract (envcheck/facts/python_env.py): a conda env as the target,
    not the `python` on PATH, so install commands must name its full path."""
    prefix = executable.rsplit("/bin/", 1)[0]
    data = {"executable": executable, "prefix": prefix, "base_prefix": prefix, "is_conda": "conda" in prefix,
            "pip": {"version": "25.2", "importable": True}, "distributions": {"torch": "2.14.1"}}
    data.update(target)
    if origins is not None:
        data["import_origins"] = origins
    return {"target": data, "on_path": {"python": {"prefix": "/usr"}}}


def torch_findings(torch: dict, nv: dict, env: dict | None = None, python: dict | None = None) -> dict:
    facts = Facts.of(torch=torch, nvidia=nv, env={"vars": env or {}}, python=python or python_facts())
    result = run_checks([c for c in all_checks().values() if c.area == "torch"], facts)
    assert not any("this check crashed" in f.summary for f in result), [f.summary for f in result]
    return {f.id: f for f in result}


# ---------------------------------------------------------------- a driver too old, a GPU at its last branch


def _k80_torch() -> dict:
    # The constructed H100 result (tests/fixtures/probe/README.md) after a driver too old for it:
    # torch sees no device, so the GPUs come from NVML. Tesla K80: Kepler, CC 3.7
    # (https://developer.nvidia.com/cuda-legacy-gpus); driver 470.82.01 is the 11.4 update driver
    # in NVIDIA's release notes Table 3 and reports CUDA 11.4.
    return _old_driver_torch()


K80 = dict(driver="470.82.01", cuda="11.4", name="Tesla K80", cc="3.7")


def test_k80_is_never_told_to_upgrade_to_580():
    found = torch_findings(_k80_torch(), nvidia(**K80))
    driver = found["torch.driver"]
    assert driver.status is Status.FAIL and driver.who == "you"
    assert "580" not in driver.fix
    lines = driver.fix.splitlines()
    # 1. The newest torch this driver runs on a K80: torch 2.7 cu118 (sm_37 in its arch list, CUDA
    #    11.8 through minor-version compatibility), installed with the target's own interpreter.
    assert lines[0] == (f"Install the newest torch this driver runs (torch 2.7, cu118): {CONDA_PYTHON} -m pip install "
                        "--force-reinstall torch==2.7.* torchvision==0.22.* --index-url https://download.pytorch.org/whl/cu118")
    # 2. Why no driver upgrade: Kepler's last branch is R470 (CUDA 11.4).
    assert "last driver branch is R470" in lines[1] and "CUDA up to 11.4" in lines[1]
    # 3. No current torch has sm_37 kernels (arch_lists.yaml: 2.8 onwards has none).
    assert lines[2].startswith("No current torch wheel supports CC 3.7") and "torch 2.7 (cu118)" in lines[2]
    assert any("cuda-toolkit-driver-and-architecture-matrix" in d for d in driver.details)
    # torch.arch agrees and torch.cuda_available carries the same fix.
    assert "torch 2.7 cu118" in found["torch.arch"].fix and "580" not in found["torch.cuda_available"].fix


def test_pascal_can_still_be_upgraded_within_r580():
    # GTX 1080 Ti: Pascal, CC 6.1; driver 550.54.14 / CUDA 12.4 (12.4 toolkit driver, Table 3).
    torch = _old_driver_torch()
    found = torch_findings(torch, nvidia(driver="550.54.14", cuda="12.4", name="NVIDIA GeForce GTX 1080 Ti", cc="6.1"))
    driver = found["torch.driver"]
    # torch 2.14's cu126 wheel runs on 12.4 (minor-version compatibility) and has sm_60/sm_61.
    assert driver.fix.splitlines()[0].endswith("--index-url https://download.pytorch.org/whl/cu126")
    assert "upgrade the NVIDIA driver to >= 580.65.06" in driver.fix and "within R580" in driver.fix


def test_driver_upgrade_is_offered_without_a_ceiling_on_current_gpus():
    found = torch_findings(_old_driver_torch(), nvidia(driver="550.54.14", cuda="12.4"))
    assert "within R" not in found["torch.driver"].fix
    assert "needs root and a reboot" in found["torch.driver"].fix


# ---------------------------------------------------------------- GLIBCXX / CXXABI import errors


def _import_error(error: str) -> dict:
    # The real probe capture (tests/fixtures/probe/README.md) turned into a failed import with the
    # error text of a real report (each test names it).
    torch = real_cpu_box()
    torch.update(status="import_error", torch_import="error", error=error, import_error=error, version=None)
    return torch


def test_glibcxx_from_the_conda_envs_own_lib():
    # pytorch/executorch#2376 (CI log quoted in the PR): the env's bundled libstdc++ is too old.
    error = ("ImportError: /opt/conda/envs/py_3.10/bin/../lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found "
             "(required by /opt/conda/envs/py_3.10/lib/python3.10/site-packages/torch/lib/libtorch_python.so)")
    found = torch_findings(_import_error(error), nvidia(), python=python_facts("/opt/conda/envs/py_3.10/bin/python"))
    check = found["torch.import"]
    assert check.status is Status.FAIL and check.who == "you"
    assert "conda environment's own (/opt/conda/envs/py_3.10)" in check.summary
    assert check.fix == ("Update the libstdc++ in that conda environment: "
                         "conda install -p /opt/conda/envs/py_3.10 -c conda-forge libstdcxx-ng")
    assert "reinstall" not in check.fix.lower()


def test_glibcxx_from_the_system_while_the_target_is_a_conda_env():
    # pytorch/pytorch#157709: a conda env loads /lib/x86_64-linux-gnu/libstdc++.so.6 instead of its own.
    error = ("ImportError: /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.30' not found "
             "(required by /home/alice/miniconda3/envs/train/lib/python3.11/site-packages/torch/lib/libtorch_python.so)")
    check = torch_findings(_import_error(error), nvidia())["torch.import"]
    assert "the system's libstdc++ was loaded instead" in check.summary
    assert check.fix.splitlines()[0] == "conda install -p /home/alice/miniconda3/envs/train -c conda-forge libstdcxx-ng"
    assert "export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH" in check.fix
    assert any("required by /home/alice/miniconda3/envs/train" in d for d in check.details)


def test_cxxabi_from_a_folder_on_ld_library_path():
    # Constructed in the shape of the reports above: an environment-module GCC's lib64 on
    # LD_LIBRARY_PATH (a common lab-server setup) ahead of the system's libstdc++.
    error = ("ImportError: /apps/gcc/7.3.0/lib64/libstdc++.so.6: version `CXXABI_1.3.11' not found "
             "(required by /home/alice/venv/lib/python3.11/site-packages/torch/lib/libtorch_cpu.so)")
    env = {"LD_LIBRARY_PATH": "/apps/gcc/7.3.0/lib64:/usr/local/cuda/lib64"}
    check = torch_findings(_import_error(error), nvidia(), env=env,
                           python=python_facts("/home/alice/venv/bin/python"))["torch.import"]
    assert "comes from /apps/gcc/7.3.0/lib64 on LD_LIBRARY_PATH" in check.summary
    assert check.fix.splitlines()[0].endswith("export LD_LIBRARY_PATH=/usr/local/cuda/lib64")
    # The only entry: unset.
    check = torch_findings(_import_error(error), nvidia(), env={"LD_LIBRARY_PATH": "/apps/gcc/7.3.0/lib64"},
                           python=python_facts("/home/alice/venv/bin/python"))["torch.import"]
    assert "unset LD_LIBRARY_PATH" in check.fix


def test_other_import_errors_still_reinstall_with_the_target_interpreter():
    check = torch_findings(_import_error("ImportError: No module named 'torch._C'"), nvidia())["torch.import"]
    assert check.fix == f"Reinstall torch in this environment: {CONDA_PYTHON} -m pip install --force-reinstall torch torchvision"


# ---------------------------------------------------------------- a torch that shadows the environment's


DEFERRING = ("torch.cuda_build", "torch.driver", "torch.arch", "torch.torchvision", "torch.cudnn")


@pytest.mark.parametrize("origin, words", [("user_site", "user site-packages"), ("pythonpath", "PYTHONPATH")])
def test_torch_checks_defer_to_python_shadowing(origin, words):
    # The other agent's contract: target.import_origins.torch = {file, dir, origin, version}.
    shadow = {"file": "/home/alice/.local/lib/python3.11/site-packages/torch/__init__.py",
              "dir": "/home/alice/.local/lib/python3.11/site-packages/torch", "origin": origin, "version": "2.1.2"}
    torch = _old_driver_torch()
    torch["torchvision"]["version"] = "0.15.0"  # would be a pairing failure without the deferral
    found = torch_findings(torch, nvidia(driver="550.54.14", cuda="12.4"), python=python_facts(origins={"torch": shadow}))
    for check_id in DEFERRING:
        check = found[check_id]
        assert check.status is Status.SKIP, check_id
        assert "copy at /home/alice/.local/lib/python3.11/site-packages/torch" in check.summary
        assert words in check.summary and "fix python.shadowing first" in check.summary
    assert "python.shadowing" in found["torch.cuda_available"].fix and "pip install" not in found["torch.cuda_available"].fix


def test_the_deferral_says_whether_the_environment_has_a_torch_of_its_own():
    stray = {"file": "/home/alice/.local/lib/python3.11/site-packages/torch/__init__.py",
             "dir": "/home/alice/.local/lib/python3.11/site-packages", "origin": "user_site", "version": "2.1.2"}
    alone = torch_findings(_old_driver_torch(), nvidia(driver="550.54.14", cuda="12.4"),
                           python=python_facts(origins={"torch": dict(stray, others=[])}))
    assert "the environment has no torch installed" in alone["torch.driver"].summary
    assert "shadows" not in alone["torch.driver"].summary
    hidden = {"dir": "/envs/dl/lib/python3.11/site-packages", "version": "2.4.1", "origin": "env"}
    both = torch_findings(_old_driver_torch(), nvidia(driver="550.54.14", cuda="12.4"),
                          python=python_facts(origins={"torch": dict(stray, others=[hidden])}))
    assert "which shadows the environment's own torch" in both["torch.driver"].summary


@pytest.mark.parametrize("origins", [None, {}, {"torch": None}, {"torch": {"origin": "env"}}, {"torch": "weird"}, "weird"])
def test_torch_checks_do_not_defer_for_the_environments_own_torch(origins):
    python = python_facts()
    if origins is not None:
        python["target"]["import_origins"] = origins
    found = torch_findings(_old_driver_torch(), nvidia(driver="550.54.14", cuda="12.4"), python=python)
    assert found["torch.driver"].status is Status.FAIL


# ---------------------------------------------------------------- every install command names the target interpreter


def test_every_torch_install_command_names_the_target_interpreter():
    """With --python /x/bin/python (not the `python` on PATH) no fix may say a bare `pip`."""
    scenarios = []
    cpu = h100_torch()
    cpu.update(version="2.14.1+cpu", cuda=None, cudnn=None, cudnn_available=False, arch_list=[], is_available=False,
               device_count=0, devices=[])
    scenarios.append((cpu, nvidia()))
    scenarios.append((_old_driver_torch(), nvidia(driver="550.54.14", cuda="12.4")))
    scenarios.append((_k80_torch(), nvidia(**K80)))
    broken_vision = h100_torch()
    broken_vision["torchvision"] = {"version": None, "installed": True, "ops_ok": None,
                                    "error": "RuntimeError: operator torchvision::nms does not exist"}
    scenarios.append((broken_vision, nvidia()))
    no_cudnn = h100_torch()
    no_cudnn.update(cudnn=None, cudnn_available=False)
    scenarios.append((no_cudnn, nvidia()))
    missing = real_cpu_box()
    missing.update(status="not_installed", torch_import="not_installed", version=None)
    scenarios.append((missing, nvidia()))
    scenarios.append((_import_error("ImportError: libcudnn.so.9: cannot open shared object file"), nvidia()))
    seen = 0
    for torch, nv in scenarios:
        for finding in torch_findings(torch, nv).values():
            for line in (finding.fix or "").splitlines():
                if "pip install" in line:
                    seen += 1
                    assert f"{CONDA_PYTHON} -m pip install" in line, (finding.id, line)
                    assert " pip install" not in line.replace(f"{CONDA_PYTHON} -m pip install", ""), (finding.id, line)
    assert seen >= 8


def test_cuda_environment_fixes_are_yours():
    found = {f.id: f for f in run_checks([c for c in all_checks().values() if c.area == "cuda"],
                                         Facts.of(nvidia=nvidia(), env={"vars": {"CUDA_VISIBLE_DEVICES": ""}}))}
    assert found["cuda.visible_devices"].status is Status.WARN and found["cuda.visible_devices"].who == "you"
