"""The torch-area checks over recorded and constructed facts (no GPU needed).

Torch facts start from tests/fixtures/probe/ (a real capture from the CPU-only dev box and a
constructed 2x H100 result, see its README); each scenario changes named fields. NVIDIA facts
follow the nvidia collector's contract, with values from the real H100 capture in
tests/fixtures/nvidia-smi/ (driver 590.48.01, CUDA 13.1, bus id 00000000:00:09.0).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from envcheck.checks import all_checks, run_checks
from envcheck.core.context import CommandResult
from envcheck.facts.torch_probe import interpret
from envcheck.core.model import Facts, Status

PROBE_DIR = Path(__file__).resolve().parent / "fixtures" / "probe"
UVM = "/dev/nvidia-uvm"


def _from_result(result: dict) -> dict:
    line = json.dumps({"envcheck_probe": 1, "event": "result", "result": result})
    return interpret(CommandResult(["python", "probe.py"], 0, line + "\n", ""), 60, "python")


def real_cpu_box() -> dict:
    stdout = (PROBE_DIR / "cpu-box_torch-2.14.1+cu130_real.jsonl").read_text()
    return interpret(CommandResult(["python", "probe.py"], 0, stdout, ""), 60, "python")


def h100_torch() -> dict:
    return _from_result(json.loads((PROBE_DIR / "h100x2_torch-2.14.1+cu130_constructed.json").read_text()))


def nvidia(count=2, driver="590.48.01", cuda="13.1", name="NVIDIA H100 80GB HBM3", cc="9.0", uvm=True) -> dict:
    return {
        "driver_version": driver,
        "cuda_driver_version": cuda,
        "gpus": [{"index": i, "name": name, "uuid": f"GPU-00000000-0000-0000-0000-00000000000{i}",
                  "pci_bus_id": f"00000000:00:0{9 + i:x}.0", "compute_capability": cc} for i in range(count)],
        "nvml_error": None,
        "dev_nodes": {"/dev/nvidiactl": True, UVM: uvm, "/dev/nvidia0": True},
        "source": "nvml",
    }


def no_driver() -> dict:
    return {"driver_version": None, "cuda_driver_version": None, "gpus": [], "nvml_error": {"type": "LibraryNotFound"},
            "dev_nodes": {}, "source": None}


def findings(torch: dict, nv: dict, env: dict | None = None) -> dict:
    facts = Facts.of(torch=torch, nvidia=nv, env={"vars": env or {}})
    checks = [c for c in all_checks().values() if c.area == "torch"]
    result = run_checks(checks, facts)
    assert not any("this check crashed" in f.summary for f in result), [f.summary for f in result]
    return {f.id: f for f in result}


def statuses(found: dict) -> dict:
    return {key: f.status for key, f in found.items()}


def test_healthy_multi_gpu_box():
    found = findings(h100_torch(), nvidia())
    assert found["torch.import"].summary == "torch 2.14.1+cu130 (CUDA 13.0, cuDNN 9.24.0), 2 GPUs visible"
    assert all(s is Status.OK for s in statuses(found).values()), statuses(found)
    assert {"torch.cuda_build", "torch.driver", "torch.cuda_available", "torch.arch", "torch.device_op",
            "torch.torchvision", "torch.cudnn"} <= set(found)


def test_real_cpu_box_without_driver_has_no_failures():
    found = findings(real_cpu_box(), no_driver())
    assert found["torch.import"].status is Status.OK and "0 GPUs visible" in found["torch.import"].summary
    assert not [f for f in found.values() if f.status is Status.FAIL]
    assert "torch.driver" not in found and "torch.cuda_available" not in found


def _cpu_wheel() -> dict:
    torch = h100_torch()
    torch.update(version="2.14.1+cpu", cuda=None, cudnn=None, cudnn_available=False, arch_list=[],
                 is_available=False, device_count=0, devices=[], nccl=None)
    torch["torchvision"]["version"] = "0.29.1+cpu"
    return torch


def test_cpu_only_wheel_on_a_gpu_box():
    found = findings(_cpu_wheel(), nvidia())
    build = found["torch.cuda_build"]
    assert build.status is Status.FAIL and "CPU-only" in build.summary and "2 NVIDIA GPUs" in build.summary
    # Driver 590 supports CUDA 13.1: the newest 2.14 variant it fully runs is cu130.
    assert build.fix == "python -m pip install --force-reinstall torch==2.14.1 torchvision --index-url https://download.pytorch.org/whl/cu130"
    assert "torch.cudnn" not in found and "torch.arch" not in found  # not reported twice


def test_cpu_only_wheel_without_gpus_is_fine():
    assert findings(_cpu_wheel(), no_driver())["torch.cuda_build"].status is Status.OK


def _old_driver_torch() -> dict:
    torch = h100_torch()
    torch.update(is_available=False, device_count=0, devices=[],
                 cuda_init_error="RuntimeError: The NVIDIA driver on your system is too old (found version 12040).")
    return torch


def test_driver_too_old_for_the_wheel():
    found = findings(_old_driver_torch(), nvidia(driver="550.54.14", cuda="12.4"))
    driver = found["torch.driver"]
    assert driver.status is Status.FAIL
    assert "CUDA driver version is insufficient" in driver.summary
    assert driver.fix.splitlines()[0] == \
        "python -m pip install --force-reinstall torch==2.14.1 torchvision --index-url https://download.pytorch.org/whl/cu126"
    assert "580.65.06" in driver.fix
    available = found["torch.cuda_available"]
    assert available.status is Status.FAIL and "driver is too old" in available.summary
    # The probe could not see the GPUs, so coverage is judged from NVML's capabilities.
    assert found["torch.arch"].status is Status.OK


def test_same_major_lower_minor_is_minor_version_compat():
    torch = h100_torch()
    torch.update(version="2.7.1+cu128", cuda="12.8")
    found = findings(torch, nvidia(driver="560.35.03", cuda="12.6"))
    driver = found["torch.driver"]
    assert driver.status is Status.WARN and "minor-version compatibility" in driver.summary
    # What the user can do alone comes first; the driver upgrade is the admin's (issue #9).
    assert driver.fix == ("Use the variant this driver fully supports: python -m pip install --force-reinstall torch==2.7.1 "
                          "torchvision==0.22.* --index-url https://download.pytorch.org/whl/cu126\n"
                          "Or ask the machine's admin to upgrade the NVIDIA driver to >= 570.26 for full support (needs root and a reboot)")
    assert driver.who == "you"
    # No 2.9 variant is fully supported by a 12.4 driver: then only the upgrade is offered, by the admin.
    torch.update(version="2.9.1+cu128")
    driver = findings(torch, nvidia(driver="550.54.14", cuda="12.4"))["torch.driver"]
    assert driver.status is Status.WARN and driver.who == "admin"
    assert driver.fix == "Ask the machine's admin to upgrade the NVIDIA driver to >= 570.26 for full support (needs root and a reboot)"


def test_minor_compat_where_the_table_has_no_row_for_the_wheel_cuda():
    torch = h100_torch()
    torch.update(version="2.14.1+cu132", cuda="13.2")
    driver = findings(torch, nvidia(driver="580.95.05", cuda="13.0"))["torch.driver"]
    assert driver.status is Status.WARN
    assert "a release that supports CUDA 13.2" in driver.fix and "whl/cu130" in driver.fix


def test_no_variant_fits_the_driver_says_upgrade():
    # Driver 440.33 (CUDA 10.2, the 10.2 toolkit driver in cuda_driver.yaml) runs no wheel in the
    # data (the oldest, torch 1.13, needs CUDA 11.6): only the admin's driver upgrade is left.
    found = findings(_old_driver_torch(), nvidia(driver="440.33", cuda="10.2"))
    assert found["torch.driver"].status is Status.FAIL
    assert found["torch.driver"].fix.startswith("Ask the machine's admin to upgrade the NVIDIA driver to >= 580.65.06")
    assert found["torch.driver"].who == "admin"


def test_old_driver_gets_the_newest_torch_it_runs_before_the_upgrade():
    # Driver 470.82.01 (R470, CUDA 11.4) and the H100's CC 9.0: no 2.14 variant runs there; the
    # newest wheel that does is torch 2.7 cu118 (minor-version compatibility, sm_90 in its arch list).
    found = findings(_old_driver_torch(), nvidia(driver="470.82.01", cuda="11.4"))
    driver = found["torch.driver"]
    first, second = driver.fix.splitlines()
    assert first == ("Install the newest torch this driver runs (torch 2.7, cu118): python -m pip install --force-reinstall "
                     "torch==2.7.* torchvision==0.22.* --index-url https://download.pytorch.org/whl/cu118")
    assert second.startswith("Or ask the machine's admin to upgrade the NVIDIA driver to >= 580.65.06")
    assert driver.who == "you"


def test_gpu_capability_missing_from_the_arch_list_rtx_50xx_on_cu126():
    torch = h100_torch()
    torch.update(version="2.14.1+cu126", cuda="12.6", arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"])
    for device in torch["devices"]:
        device.update(name="NVIDIA GeForce RTX 5090", capability="12.0", op_ok=False,
                      op_error="RuntimeError: CUDA error: no kernel image is available for execution on the device")
    found = findings(torch, nvidia(name="NVIDIA GeForce RTX 5090", cc="12.0"))
    arch = found["torch.arch"]
    assert arch.status is Status.FAIL and "no kernel image is available" in arch.summary and "CC 12.0" in arch.summary
    assert arch.fix.endswith("--index-url https://download.pytorch.org/whl/cu130")
    assert found["torch.device_op"].status is Status.FAIL


def test_pascal_gpu_on_cu130_wheel_needs_cu126():
    torch = h100_torch()
    for device in torch["devices"]:
        device.update(name="NVIDIA GeForce GTX 1080 Ti", capability="6.1")
    arch = findings(torch, nvidia(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1"))["torch.arch"]
    assert arch.status is Status.FAIL and "Pascal" in arch.summary
    assert arch.fix == "python -m pip install --force-reinstall torch==2.14.1 torchvision --index-url https://download.pytorch.org/whl/cu126"


def test_arch_check_uses_nvml_capabilities_when_torch_sees_no_device():
    torch = _old_driver_torch()
    arch = findings(torch, nvidia(cc="6.1"))["torch.arch"]
    assert arch.status is Status.FAIL and "GPU 0" in arch.summary


def test_torchvision_not_paired():
    torch = h100_torch()
    torch.update(version="2.13.0+cu130")
    torch["torchvision"]["version"] = "0.27.0+cu130"
    vision = findings(torch, nvidia())["torch.torchvision"]
    assert vision.status is Status.FAIL and "0.28" in vision.summary
    assert vision.fix == "python -m pip install torchvision==0.28.* --index-url https://download.pytorch.org/whl/cu130"


def test_torchvision_pairing_unknown_for_2_14_is_not_a_failure():
    vision = findings(h100_torch(), nvidia())["torch.torchvision"]
    assert vision.status is Status.OK and "unknown" in vision.summary


def test_torchvision_ops_missing_and_not_installed():
    torch = h100_torch()
    torch["torchvision"] = {"version": None, "installed": True, "ops_ok": None,
                            "error": "RuntimeError: operator torchvision::nms does not exist"}
    vision = findings(torch, nvidia())["torch.torchvision"]
    assert vision.status is Status.FAIL and "torchvision::nms does not exist" in vision.summary
    torch["torchvision"] = {"version": None, "installed": False, "ops_ok": None, "error": "not installed"}
    vision = findings(torch, nvidia())["torch.torchvision"]
    assert vision.status is Status.WARN and "cu130" in vision.fix


def test_is_available_false_with_nvidia_uvm_missing():
    torch = _old_driver_torch()
    torch["cuda_init_error"] = "RuntimeError: CUDA unknown error - this may be due to an incorrectly set up environment"
    found = findings(torch, nvidia(uvm=False))
    available = found["torch.cuda_available"]
    assert available.status is Status.FAIL and "/dev/nvidia-uvm is missing" in available.summary
    assert available.fix.startswith("sudo modprobe nvidia_uvm")
    assert any("CUDA unknown error" in d for d in available.details)


def test_is_available_false_because_cuda_visible_devices_hides_all():
    available = findings(_old_driver_torch(), nvidia(), env={"CUDA_VISIBLE_DEVICES": ""})["torch.cuda_available"]
    assert available.status is Status.FAIL and "hides every GPU" in available.summary
    assert "unset CUDA_VISIBLE_DEVICES" in available.fix


@pytest.mark.parametrize("nv, index", [
    (nvidia(), "https://download.pytorch.org/whl/cu130"),
    (nvidia(driver="550.54.14", cuda="12.4"), "https://download.pytorch.org/whl/cu126"),
    (no_driver(), "https://download.pytorch.org/whl/cpu"),
])
def test_torch_not_installed_gives_the_install_command_for_this_machine(nv, index):
    torch = real_cpu_box()
    for key in ("version", "cuda", "cudnn", "is_available"):
        torch[key] = None
    torch.update(status="not_installed", torch_import="not_installed")
    found = findings(torch, nv)
    assert found["torch.import"].status is Status.WARN
    assert found["torch.import"].fix == f"python -m pip install torch torchvision --index-url {index}"
    assert found["torch.python_version"].status is Status.OK
    assert set(found) == {"torch.import", "torch.python_version"}


def test_python_too_old_for_the_newest_torch():
    torch = real_cpu_box()
    torch.update(status="not_installed", torch_import="not_installed", version=None)
    torch["python"] = dict(torch["python"], version="3.9.18")
    check = findings(torch, nvidia())["torch.python_version"]
    assert check.status is Status.WARN and "2.8" in check.summary


def test_timeout_crash_and_import_error_are_failures_naming_the_step():
    hung = interpret(CommandResult(["p"], None, '{"envcheck_probe": 1, "event": "start", "step": "import_torch"}\n', "",
                                   timed_out=True), 60, "p")
    summary = findings(hung, nvidia())["torch.import"]
    assert summary.status is Status.FAIL and "importing torch hung for 60s" in summary.summary
    crashed = interpret(CommandResult(["p"], -11, '{"envcheck_probe": 1, "event": "start", "step": "cuda_init"}\n', ""), 60, "p")
    summary = findings(crashed, nvidia())["torch.import"]
    assert summary.status is Status.FAIL and "SIGSEGV while initialising CUDA" in summary.summary
    broken = copy.deepcopy(real_cpu_box())
    broken.update(status="import_error", error="ImportError: libcudnn.so.9: cannot open shared object file")
    summary = findings(broken, nvidia())["torch.import"]
    assert summary.status is Status.FAIL and "LD_LIBRARY_PATH" in summary.fix


def test_cudnn_not_loadable_and_device_op_failure():
    torch = h100_torch()
    torch.update(cudnn=None, cudnn_available=False)
    torch["devices"][1].update(op_ok=False, op_error="RuntimeError: CUDA error: an illegal memory access was encountered")
    found = run_checks([c for c in all_checks().values() if c.area == "torch"],
                       Facts.of(torch=torch, nvidia=nvidia(), env={"vars": {}}))
    by_id = {}
    for f in found:
        by_id.setdefault(f.id, []).append(f)
    assert by_id["torch.cudnn"][0].status is Status.FAIL and "cuDNN cannot be loaded" in by_id["torch.cudnn"][0].summary
    ops = by_id["torch.device_op"]
    assert len(ops) == 1 and ops[0].status is Status.FAIL and "cuda:1" in ops[0].summary


def test_collector_failure_is_reported():
    facts = Facts.of(nvidia=nvidia(), env={"vars": {}})
    from envcheck.core.model import FactResult

    facts["torch"] = FactResult("torch", False, {}, "timed out after 900s")
    found = {f.id: f for f in run_checks([c for c in all_checks().values() if c.area == "torch"], facts)}
    assert found["torch.import"].status is Status.FAIL and "timed out after 900s" in found["torch.import"].summary


@pytest.mark.parametrize("python, status, words", [
    ("3.6.15", Status.WARN, "older than any torch release from 1.13"),
    ("3.15.0", Status.FAIL, "will likely fail"),
])
def test_python_outside_every_known_range(python, status, words):
    torch = real_cpu_box()
    torch.update(status="not_installed", torch_import="not_installed", version=None)
    torch["python"] = dict(torch["python"], version=python)
    check = findings(torch, no_driver())["torch.python_version"]
    assert check.status is status and words in check.summary
