"""Driver and CUDA-device checks over recorded facts: healthy 8-GPU box, mixed models, version
mismatch, busy GPU, no driver. GPU entries are parsed from the real captures."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest

from envcheck.facts import nvsmi
from envcheck.checks import all_checks, run_checks
from envcheck.core.model import Facts, Status

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CAPTURES = FIXTURES / "nvidia-smi"
spec = importlib.util.spec_from_file_location("fake_nvidia_smi", FIXTURES / "fake_nvidia_smi.py")
fake_smi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fake_smi)


def _gpu(capture: str, state: str = "idle") -> dict:
    text = (CAPTURES / capture).read_text()
    [gpu] = nvsmi.parse_gpus(fake_smi.section(text, f"{state} :: query-gpu"), fields=None)
    return gpu


H100 = _gpu("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt")
L40S = _gpu("linux-x86_64__nvidia-l40s__595.80.txt")


def _box(models: list[dict]) -> list[dict]:
    gpus = []
    for index, model in enumerate(models):
        gpu = copy.deepcopy(model)
        gpu["index"] = index
        gpu["uuid"] = f"GPU-{index:08x}-1111-2222-3333-444444444444"
        gpu["pci_bus_id"] = f"00000000:{0x18 + index:02X}:00.0"
        gpus.append(gpu)
    return gpus


def nvidia_facts(gpus: list[dict], **overrides) -> dict:
    data = {
        "source": "nvml", "driver_version": "590.48.01", "cuda_driver_version": "13.1",
        "kernel_module_version": "590.48.01", "proc_driver_present": True,
        "dev_nodes": {"/dev/nvidiactl": True, "/dev/nvidia-uvm": True, "/dev/nvidia0": True},
        "library_versions": ["590.48.01"], "pci_gpus": [{"slot": "0000:18:00.0", "device": "0x2330"}],
        "nvml_error": None, "smi": {"path": "/usr/bin/nvidia-smi", "error": None},
        "pynvml": {"module_file": "/x/site-packages/pynvml.py", "has_nvmlInitWithFlags": True,
                   "has_nvmlGetFunctionPointer": True, "distribution": "nvidia-ml-py", "version": "13.615.71"},
        "gpus": gpus,
    }
    data.update(overrides)
    return data


def run(nvidia: dict, env: dict | None = None, distributions: dict | None = None):
    checks = [c for c in all_checks().values() if c.area in ("driver", "cuda")]
    facts = Facts.of(nvidia=nvidia, env={"vars": {"USER": "alice", **(env or {})}},
                     python={"target": {"distributions": distributions or {"nvidia-ml-py": "13.615.71"}}})
    return {f.id: f for f in run_checks(checks, facts)}


def test_healthy_eight_gpu_box():
    found = run(nvidia_facts(_box([H100] * 8)))
    assert found["driver.nvml"].status is Status.OK
    assert "590.48.01" in found["driver.nvml"].summary and "8 GPUs" in found["driver.nvml"].summary
    assert any("not an installed toolkit" in d for d in found["driver.nvml"].details)
    for index in range(8):
        assert found[f"driver.gpu.{index}"].status is Status.OK
        assert "free" in found[f"driver.gpu.{index}"].summary
    assert found["driver.kernel_module"].status is Status.OK
    assert found["driver.uvm"].status is Status.OK
    assert found["driver.nvml_binding"].status is Status.OK
    assert found["cuda.visible_devices"].status is Status.OK and "all 8 GPUs" in found["cuda.visible_devices"].summary
    assert found["cuda.device_order"].status is Status.OK
    assert all(f.status is Status.OK for f in found.values())


def test_visible_devices_map_is_shown():
    found = run(nvidia_facts(_box([H100] * 4)), env={"CUDA_VISIBLE_DEVICES": "2,1"})
    finding = found["cuda.visible_devices"]
    assert finding.status is Status.OK
    assert f"cuda:0 = GPU 2 ({H100['name']})" in finding.summary and "cuda:1 = GPU 1" in finding.summary


@pytest.mark.parametrize("value", ["", "-1"])
def test_no_gpu_visible_is_a_warning(value):
    finding = run(nvidia_facts(_box([H100] * 2)), env={"CUDA_VISIBLE_DEVICES": value})["cuda.visible_devices"]
    assert finding.status is Status.WARN and "hides every GPU" in finding.summary
    assert finding.fix.startswith("unset CUDA_VISIBLE_DEVICES")


def test_invalid_entry_fails_with_what_cuda_sees():
    finding = run(nvidia_facts(_box([H100] * 2)), env={"CUDA_VISIBLE_DEVICES": "1,5,0"})["cuda.visible_devices"]
    assert finding.status is Status.FAIL
    assert "CUDA will see only: cuda:0 = GPU 1" in finding.summary
    assert "export CUDA_VISIBLE_DEVICES=1" in finding.fix


def test_spaces_and_duplicates():
    gpus = _box([H100] * 3)
    spaces = run(nvidia_facts(gpus), env={"CUDA_VISIBLE_DEVICES": "0, 2"})["cuda.visible_devices"]
    assert spaces.status is Status.WARN and any("spaces" in d for d in spaces.details)
    assert "CUDA_VISIBLE_DEVICES=0,2" in spaces.fix
    dup = run(nvidia_facts(gpus), env={"CUDA_VISIBLE_DEVICES": "0,0"})["cuda.visible_devices"]
    assert dup.status is Status.FAIL and any("does not document" in d for d in dup.details)


def test_visible_devices_set_without_any_gpu_is_skipped_not_failed():
    facts = nvidia_facts([], source=None, proc_driver_present=False, pci_gpus=[], library_versions=[],
                         kernel_module_version=None, dev_nodes={}, smi={"path": None, "error": "nvidia-smi is not on PATH"},
                         nvml_error={"kind": "library_not_found", "message": "NVMLError_LibraryNotFound"})
    finding = run(facts, env={"CUDA_VISIBLE_DEVICES": "0"})["cuda.visible_devices"]
    assert finding.status is Status.SKIP


def test_mixed_models_without_device_order():
    gpus = _box([H100, L40S, H100])
    found = run(nvidia_facts(gpus))
    order = found["cuda.device_order"]
    assert order.status is Status.WARN
    assert H100["name"] in order.summary and L40S["name"] in order.summary
    assert order.fix.startswith("export CUDA_DEVICE_ORDER=PCI_BUS_ID")
    # With an index list the mapping itself carries the same caveat.
    mapped = run(nvidia_facts(gpus), env={"CUDA_VISIBLE_DEVICES": "1"})["cuda.visible_devices"]
    assert any("CUDA_DEVICE_ORDER" in d for d in mapped.details)
    fixed = run(nvidia_facts(gpus), env={"CUDA_DEVICE_ORDER": "PCI_BUS_ID"})["cuda.device_order"]
    assert fixed.status is Status.OK
    bogus = run(nvidia_facts(gpus), env={"CUDA_DEVICE_ORDER": "pci_bus_id"})["cuda.device_order"]
    assert bogus.status is Status.WARN


RELOAD = "sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia"


def test_version_mismatch_box():
    facts = nvidia_facts([], source=None, driver_version=None, cuda_driver_version=None,
                         kernel_module_version="580.95.05", library_versions=["590.48.01"],
                         nvml_error={"kind": "lib_rm_version_mismatch",
                                     "message": "NVMLError_LibRmVersionMismatch: RM has detected an NVML/RM version mismatch."},
                         smi={"path": "/usr/bin/nvidia-smi",
                              "error": "nvidia-smi exited with 18: Failed to initialize NVML: Driver/library version mismatch"})
    found = run(facts)
    assert found["driver.nvml"].status is Status.FAIL
    assert "rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia" in found["driver.nvml"].fix
    assert found["driver.kernel_module"].status is Status.FAIL
    assert "580.95.05" in found["driver.kernel_module"].summary and "590.48.01" in found["driver.kernel_module"].summary
    assert "cuda.visible_devices" not in found and "driver.gpu.0" not in found


def test_version_mismatch_outranks_library_not_found():
    """envcheck's NVML says "library not found" (its own process did not get as far as the driver)
    while nvidia-smi prints its real error "Failed to initialize NVML: Driver/library version
    mismatch" (the text of nvidia-smi after a driver upgrade without a reboot, as in
    test_version_mismatch_box): the cause is the mismatch, fixed by a reboot, not a reinstall."""
    facts = nvidia_facts([], source=None, driver_version=None, cuda_driver_version=None,
                         kernel_module_version="580.95.05", library_versions=["590.48.01"],
                         nvml_error={"kind": "library_not_found", "message": "NVMLError_LibraryNotFound: NVML Shared Library Not Found"},
                         smi={"path": "/usr/bin/nvidia-smi",
                              "error": "nvidia-smi exited with 18: Failed to initialize NVML: Driver/library version mismatch"})
    finding = run(facts)["driver.nvml"]
    assert finding.status is Status.FAIL and "version mismatch" in finding.summary
    assert finding.fix.startswith("The machine's admin reboots it") and RELOAD in finding.fix
    assert "install the NVIDIA driver" not in finding.fix and finding.who == "admin"
    assert any("also reported: library_not_found" in d for d in finding.details)
    # The same without nvidia-smi: the loaded module (580.95.05) differs from every installed
    # libnvidia-ml.so (590.48.01), which is the mismatch too.
    facts["smi"] = {"path": None, "error": "nvidia-smi is not on PATH"}
    assert "version mismatch" in run(facts)["driver.nvml"].summary
    # And a plain missing library stays "library not found".
    facts.update(kernel_module_version=None, library_versions=[])
    assert "libnvidia-ml.so.1) was not found" in run(facts)["driver.nvml"].summary


def test_driver_failures_are_the_admins():
    facts = nvidia_facts([], source=None, driver_version=None, kernel_module_version="580.95.05", library_versions=["590.48.01"],
                         nvml_error={"kind": "lib_rm_version_mismatch", "message": "mismatch"})
    found = run(facts)
    assert found["driver.nvml"].who == "admin" and found["driver.kernel_module"].who == "admin"
    assert run(nvidia_facts(_box([H100]), dev_nodes={"/dev/nvidiactl": True, "/dev/nvidia-uvm": False}))["driver.uvm"].who == "admin"


@pytest.mark.parametrize("kind, words", [
    ("driver_not_loaded", "sudo modprobe nvidia"),
    ("no_permission", "ls -l /dev/nvidia*"),
    ("function_not_found", "pip install --upgrade nvidia-ml-py"),
    ("library_not_found", "--gpus all"),
])
def test_each_nvml_error_has_its_fix(kind, words):
    facts = nvidia_facts([], source=None, driver_version=None, nvml_error={"kind": kind, "message": kind},
                         smi={"path": None, "error": "nvidia-smi is not on PATH"})
    finding = run(facts)["driver.nvml"]
    assert finding.status is Status.FAIL and words in finding.fix


def test_hung_nvidia_smi():
    facts = nvidia_facts([], source=None, nvml_error={"kind": "unknown", "message": "binding missing"},
                         smi={"path": "/usr/bin/nvidia-smi", "error": "nvidia-smi did not answer within 8s (it can hang ...)"})
    finding = run(facts)["driver.nvml"]
    assert finding.status is Status.FAIL and "stuck" in finding.summary and "Xid" in finding.fix


def test_no_driver_on_a_machine_without_nvidia_is_a_skip():
    facts = nvidia_facts([], source=None, driver_version=None, cuda_driver_version=None, kernel_module_version=None,
                         proc_driver_present=False, dev_nodes={"/dev/nvidiactl": False, "/dev/nvidia-uvm": False,
                                                               "/dev/nvidia0": False},
                         library_versions=[], pci_gpus=[],
                         nvml_error={"kind": "library_not_found", "message": "NVML Shared Library Not Found"},
                         smi={"path": None, "error": "nvidia-smi is not on PATH"})
    found = run(facts)
    assert found["driver.nvml"].status is Status.SKIP
    assert found["driver.nvml"].summary == "no NVIDIA driver; GPU checks skipped"
    assert all(f.status in (Status.OK, Status.SKIP) for f in found.values())
    # The same machine with an NVIDIA card on the PCI bus is a missing driver: a failure.
    facts["pci_gpus"] = [{"slot": "0000:01:00.0", "device": "0x2684"}]
    assert run(facts)["driver.nvml"].status is Status.FAIL


def test_busy_gpu_names_who_and_suggests_a_free_one():
    gpus = _box([H100] * 3)
    gpus[0]["processes"] = [{"pid": 1234, "user": "bob", "name": "python", "used_memory_mib": 10445}]
    gpus[1]["memory_used_mib"] = int(gpus[1]["memory_total_mib"] * 0.9)
    gpus[2]["processes"] = [{"pid": 999, "user": "alice", "name": "python", "used_memory_mib": 2048}]
    found = run(nvidia_facts(gpus))
    busy = found["driver.gpu.0"]
    assert busy.status is Status.WARN
    assert busy.summary.startswith("GPU 0 is busy: 1 process (bob pid 1234 10.2 GiB)")
    assert busy.fix == "pick a free GPU: CUDA_VISIBLE_DEVICES=2 python train.py"
    assert found["driver.gpu.1"].status is Status.WARN  # > 50% memory used, whoever it is
    mine = found["driver.gpu.2"]
    assert mine.status is Status.OK and "of yours" in mine.summary


def test_hot_gpu_and_mig_listing():
    mig = _gpu("linux-x86_64__nvidia-h100-mig__590.48.01.txt")
    text = (CAPTURES / "linux-x86_64__nvidia-h100-mig__590.48.01.txt").read_text()
    mig["mig_devices"] = nvsmi.parse_list(fake_smi.section(text, "capabilities :: list (-L)"))[0]["mig_devices"]
    hot = copy.deepcopy(H100)
    hot["temperature_c"] = 88
    gpus = _box([mig, hot])
    gpus[0]["mig_devices"] = mig["mig_devices"]
    found = run(nvidia_facts(gpus))
    assert found["driver.gpu.1"].status is Status.WARN and "hot (88 C" in found["driver.gpu.1"].summary
    listing = found["driver.mig.0"]
    assert "4 MIG devices" in listing.summary and "MIG UUID" in listing.summary
    assert [d.split(": ")[1] for d in listing.details] == [m["uuid"] for m in mig["mig_devices"]]
    # Selecting the MIG GPU by index is flagged in the cuda area, with a MIG UUID as the fix.
    selected = run(nvidia_facts(gpus), env={"CUDA_VISIBLE_DEVICES": "0"})["cuda.visible_devices"]
    assert selected.status is Status.WARN and mig["mig_devices"][0]["uuid"] in selected.fix


def test_missing_uvm_node_while_driver_loaded():
    facts = nvidia_facts(_box([H100]), dev_nodes={"/dev/nvidiactl": True, "/dev/nvidia-uvm": False, "/dev/nvidia0": True})
    finding = run(facts)["driver.uvm"]
    assert finding.status is Status.WARN and "sudo modprobe nvidia-uvm" in finding.fix


@pytest.mark.parametrize("distributions, binding_ok", [
    ({"nvidia-ml-py": "13.615.71", "pynvml": "11.4.1"}, True),
    ({"nvidia_ml_py3": "7.352.0"}, True),
    ({"nvidia-ml-py": "13.615.71"}, False),
])
def test_shadowing_nvml_binding(distributions, binding_ok):
    nvidia = nvidia_facts(_box([H100]))
    if not binding_ok:
        nvidia["pynvml"]["has_nvmlInitWithFlags"] = False
    finding = run(nvidia, distributions=distributions)["driver.nvml_binding"]
    assert finding.status is Status.WARN
    # Spelled for an interpreter (checks/_commands.py), never a bare `pip` (issue #9).
    assert finding.fix == "python -m pip uninstall -y nvidia-ml-py3 pynvml && python -m pip install --force-reinstall nvidia-ml-py"
    assert finding.who == "you"


def test_nvml_binding_fix_names_the_interpreter_that_has_the_look_alike():
    nvidia = nvidia_facts(_box([H100]))
    target = {"executable": "/envs/x/bin/python", "prefix": "/envs/x", "pip": {"importable": True},
              "distributions": {"nvidia-ml-py": "13.615.71", "pynvml": "11.4.1"}}
    running = {"executable": "/opt/envcheck/bin/python"}
    checks = [c for c in all_checks().values() if c.id == "driver.nvml_binding"]
    facts = Facts.of(nvidia=nvidia, env={"vars": {}}, python={"target": target, "running": running, "on_path": {}})
    [finding] = run_checks(checks, facts)
    # The look-alike is in the --python target: that interpreter's pip.
    assert finding.fix == ("/envs/x/bin/python -m pip uninstall -y nvidia-ml-py3 pynvml && "
                           "/envs/x/bin/python -m pip install --force-reinstall nvidia-ml-py")
    # Only the pynvml envcheck itself imported is old: envcheck's own interpreter.
    target["distributions"] = {"nvidia-ml-py": "13.615.71"}
    nvidia["pynvml"]["has_nvmlInitWithFlags"] = False
    [finding] = run_checks(checks, facts)
    assert finding.fix.startswith("/opt/envcheck/bin/python -m pip uninstall -y nvidia-ml-py3 pynvml")


# --- a GPU that fell off the bus ------------------------------------------------------------------

LOST = {"index": 1, "kind": "gpu_is_lost", "message": "NVMLError_GpuIsLost: GPU is lost",
        "call": "nvmlDeviceGetHandleByIndex", "uuid": None, "pci_bus_id": None, "name": None}


def test_lost_gpu_is_a_failure_with_an_admin_fix_and_the_others_still_listed():
    gpus = [g for g in _box([H100] * 4) if g["index"] != 1]
    found = run(nvidia_facts(gpus, gpu_errors=[LOST]))
    lost = found["driver.gpu.1"]
    assert lost.status is Status.FAIL
    assert lost.summary == "GPU 1 is lost: it has fallen off the bus (NVML: GPU is lost)"
    assert "reboot" in lost.fix and "sudo nvidia-smi -r -i 1" in lost.fix
    assert "nvidia-smi -q -i 1" in lost.fix and "Xid 79" in lost.fix
    # The healthy GPUs are named by UUID: with a GPU missing, indices may not mean what they did.
    assert f"CUDA_VISIBLE_DEVICES={gpus[0]['uuid']} python train.py" in lost.fix
    assert any("NVMLError_GpuIsLost" in d for d in lost.details)
    for index in (0, 2, 3):
        assert found[f"driver.gpu.{index}"].status is Status.OK
    nvml = found["driver.nvml"]
    assert nvml.status is Status.OK and "3 of 4 GPUs readable" in nvml.summary
    assert any("GPU 1 (NVMLError_GpuIsLost: GPU is lost)" in d for d in nvml.details)


def test_only_gpu_lost_is_not_reported_as_no_gpu():
    found = run(nvidia_facts([], gpu_errors=[dict(LOST, index=0, kind="unknown", message="NVMLError_Unknown: Unknown Error")]))
    assert found["driver.nvml"].status is Status.FAIL
    assert "none of its 1 GPU can be read" in found["driver.nvml"].summary
    lost = found["driver.gpu.0"]
    assert lost.status is Status.FAIL and "NVMLError_Unknown: Unknown Error" in lost.summary
    assert "Meanwhile" not in lost.fix  # no healthy GPU to point at


def test_busy_gpu_with_a_lost_one_suggests_the_free_gpu_by_uuid():
    gpus = [g for g in _box([H100] * 3) if g["index"] != 1]
    gpus[0]["processes"] = [{"pid": 1234, "user": "bob", "name": "python", "used_memory_mib": 10445}]
    busy = run(nvidia_facts(gpus, gpu_errors=[LOST]))["driver.gpu.0"]
    assert busy.fix == f"pick a free GPU: CUDA_VISIBLE_DEVICES={gpus[1]['uuid']} python train.py"


# --- CUDA_VISIBLE_DEVICES suggestions on a mixed-model machine ---------------------------------------


def _busy_mixed(models):
    gpus = _box(models)
    gpus[0]["processes"] = [{"pid": 1234, "user": "bob", "name": "python", "used_memory_mib": 10445}]
    return gpus


def test_free_gpu_suggestion_on_mixed_models_sets_the_device_order():
    gpus = _busy_mixed([H100, L40S, H100])
    busy = run(nvidia_facts(gpus))["driver.gpu.0"]
    assert busy.fix == "pick a free GPU: CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 python train.py"
    ordered = run(nvidia_facts(gpus), env={"CUDA_DEVICE_ORDER": "PCI_BUS_ID"})["driver.gpu.0"]
    assert ordered.fix == "pick a free GPU: CUDA_VISIBLE_DEVICES=1 python train.py"
    same = run(nvidia_facts(_busy_mixed([L40S] * 3)))["driver.gpu.0"]
    assert same.fix == "pick a free GPU: CUDA_VISIBLE_DEVICES=1 python train.py"


def test_visible_devices_fixes_on_mixed_models_set_the_device_order():
    gpus = _box([H100, L40S, H100])
    invalid = run(nvidia_facts(gpus), env={"CUDA_VISIBLE_DEVICES": "1,5,0"})["cuda.visible_devices"]
    assert invalid.fix.startswith("export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1   #")
    spaces = run(nvidia_facts(gpus), env={"CUDA_VISIBLE_DEVICES": "0, 2"})["cuda.visible_devices"]
    assert spaces.fix.endswith("e.g. export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,2")
    nothing_valid = run(nvidia_facts(gpus), env={"CUDA_VISIBLE_DEVICES": "7"})["cuda.visible_devices"]
    assert nothing_valid.fix.startswith("export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=<one or more of 0,1,2>")
    ordered = run(nvidia_facts(gpus), env={"CUDA_VISIBLE_DEVICES": "1,5,0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"})
    assert ordered["cuda.visible_devices"].fix.startswith("export CUDA_VISIBLE_DEVICES=1   #")


def test_shell_fix_example_selects_the_gpu_it_names():
    shell = {"files": {".bashrc": {"assignments": [
        {"name": "CUDA_VISIBLE_DEVICES", "file": "/home/alice/.bashrc", "line": 3, "text": "export CUDA_VISIBLE_DEVICES=1"}]}}}
    checks = [all_checks()["shell.cuda_visible_devices"]]

    def fix(gpus, **env):
        facts = Facts.of(shell=shell, nvidia=nvidia_facts(gpus), env={"vars": env})
        [finding] = run_checks(checks, facts)
        return finding.fix.splitlines()[-1]

    assert fix(_box([H100, L40S])) == "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python train.py"
    assert fix(_box([H100, L40S]), CUDA_DEVICE_ORDER="PCI_BUS_ID") == "CUDA_VISIBLE_DEVICES=0 python train.py"
    assert fix(_box([H100, H100])) == "CUDA_VISIBLE_DEVICES=0 python train.py"
    assert fix([]) == "CUDA_VISIBLE_DEVICES=0 python train.py"


def test_gpu_known_only_by_pci_bus_id_is_named_by_it():
    error = {"index": None, "kind": "unknown", "pci_bus_id": "0000:07:00.0", "uuid": None, "name": None,
             "call": "nvidia-smi", "message": "Unable to determine the device handle for GPU0000:07:00.0: Unknown Error"}
    found = run(nvidia_facts(_box([H100] * 2), source="nvidia-smi", gpu_errors=[error]))
    lost = found["driver.gpu.pci-0000:07:00.0"]
    assert lost.status is Status.FAIL
    assert lost.summary.startswith("the GPU at PCI 0000:07:00.0 could not be read (Unable to determine")
    assert "nvidia-smi -q -i 0000:07:00.0" in lost.fix
    ids = [f for f in found if f.startswith("driver.gpu.")]
    assert ids == ["driver.gpu.0", "driver.gpu.1", "driver.gpu.pci-0000:07:00.0"]
    assert "2 of 3 GPUs readable" in found["driver.nvml"].summary
