"""The "nvidia" collector: NVML through a fake pynvml module, nvidia-smi through a fake executable.

No GPU here. The fake nvidia-smi (tests/fixtures/fake_nvidia_smi.py) answers from the real
captures; the fake pynvml replays values taken from the same captures and raises the real
pynvml exception classes, so the error mapping is tested against nvidia-ml-py itself.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pynvml
import pytest

from envcheck.facts import nvsmi
from envcheck.core.context import Context
from envcheck.facts import nvidia
from envcheck.facts.nvidia import COLLECTOR_TIMEOUT, collect_nvidia

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CAPTURES = FIXTURES / "nvidia-smi"
NAMES = sorted(p.name for p in CAPTURES.glob("*.txt"))
MIG = "linux-x86_64__nvidia-h100-mig__590.48.01.txt"
H100 = "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt"

spec = importlib.util.spec_from_file_location("fake_nvidia_smi", FIXTURES / "fake_nvidia_smi.py")
fake_smi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fake_smi)


def no_nvml():
    raise ImportError("No module named 'pynvml'")


@pytest.fixture
def smi_env(tmp_path, clean_env):
    """An environment whose PATH has a fake `nvidia-smi` first; returns a function(capture, **vars)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "nvidia-smi"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FIXTURES / "fake_nvidia_smi.py"}" "$@"\n')
    wrapper.chmod(0o755)

    def make(capture: str, **extra: str) -> dict[str, str]:
        env = dict(clean_env)
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
        env["FAKE_NVSMI_CAPTURE"] = str(CAPTURES / capture)
        env.update(extra)
        return env

    return make


def _csv_rows(capture: str, section: str) -> list[dict[str, str]]:
    """A section's CSV read with the csv module, header units removed: an independent reading of the
    capture (the collector and _recorded both go through nvsmi's parser, so comparing them alone
    would pass whatever that parser did)."""
    body = fake_smi.section((CAPTURES / capture).read_text(), section)
    rows = list(csv.reader(io.StringIO(body.strip()), skipinitialspace=True))
    header = [re.sub(r" \[.*\]$", "", h) for h in rows[0]] if rows else []
    return [dict(zip(header, r)) for r in rows[1:] if r]


def _recorded(capture: str, state: str = "load") -> dict:
    text = (CAPTURES / capture).read_text()
    return {
        "gpus": nvsmi.parse_gpus(fake_smi.section(text, f"{state} :: query-gpu"), fields=None),
        "apps": nvsmi.parse_compute_apps(fake_smi.section(text, f"{state} :: query-compute-apps"), fields=None),
        "list": nvsmi.parse_list(fake_smi.section(text, "capabilities :: list (-L)")),
        "header": nvsmi.parse_header(fake_smi.section(text, f"{state} :: nvidia-smi (default table)")),
    }


@pytest.mark.parametrize("capture", NAMES)
def test_nvidia_smi_fallback_on_each_capture(smi_env, tmp_path, capture, monkeypatch):
    # The recorded pids are small numbers that may well be alive on the test machine (CI once hit
    # one): each process's owner comes from this stand-in, so the answer does not depend on that.
    import envcheck.facts.nvidia as nvidia_facts

    monkeypatch.setattr(nvidia_facts, "username_of", lambda pid: f"user{pid}" if pid % 2 else None)
    ctx = Context(env=smi_env(capture), sys_root=tmp_path / "root", proc_root=tmp_path / "proc")
    facts = collect_nvidia(ctx, nvml_loader=no_nvml)
    want = _recorded(capture)
    assert facts["source"] == "nvidia-smi"
    assert facts["smi"]["error"] is None and facts["smi"]["path"].endswith("/nvidia-smi")
    assert facts["nvml_error"]["kind"] == "unknown" and "nvidia-ml-py" in facts["nvml_error"]["message"]
    assert facts["driver_version"] == want["header"]["driver_version"]
    assert facts["cuda_driver_version"] == want["header"]["cuda_driver_version"]
    assert len(facts["gpus"]) == len(want["gpus"])
    for got, rec in zip(facts["gpus"], want["gpus"]):
        for key in ("index", "name", "uuid", "pci_bus_id", "memory_total_mib", "memory_used_mib",
                    "utilization_gpu_pct", "temperature_c", "compute_capability", "mig_mode"):
            assert got[key] == rec[key], key
        assert [p["pid"] for p in got["processes"]] == [a["pid"] for a in want["apps"] if a["gpu_uuid"] == got["uuid"]]
        assert [p["user"] for p in got["processes"]] == [f"user{p['pid']}" if p["pid"] % 2 else None for p in got["processes"]]
    listed = {g["uuid"]: g["mig_devices"] for g in want["list"]}
    assert [g["mig_devices"] for g in facts["gpus"]] == [listed[g["uuid"]] for g in facts["gpus"]]
    # Against the capture read with the csv module: at least one GPU, its numbers, and every process.
    rows = _csv_rows(capture, "load :: query-gpu")
    assert len(facts["gpus"]) == len(rows) >= 1
    for got, row in zip(facts["gpus"], rows):
        assert (got["index"], got["name"], got["uuid"]) == (int(row["index"]), row["name"], row["uuid"])
        assert got["memory_total_mib"] == int(row["memory.total"].split()[0])
        assert got["memory_used_mib"] == int(row["memory.used"].split()[0])
    app_rows = _csv_rows(capture, "load :: query-compute-apps")
    assert sorted(p["pid"] for g in facts["gpus"] for p in g["processes"]) == sorted(int(r["pid"]) for r in app_rows)


def test_idle_state_has_no_processes(smi_env, tmp_path):
    ctx = Context(env=smi_env(H100, FAKE_NVSMI_STATE="idle"), sys_root=tmp_path, proc_root=tmp_path)
    facts = collect_nvidia(ctx, nvml_loader=no_nvml)
    assert facts["gpus"][0]["processes"] == [] and facts["gpus"][0]["memory_used_mib"] == 0


def test_hung_nvidia_smi_is_recorded_and_bounded(smi_env, tmp_path):
    ctx = Context(env=smi_env(H100, FAKE_NVSMI_SLEEP="60"), timeout=1, sys_root=tmp_path, proc_root=tmp_path)
    start = time.monotonic()
    facts = collect_nvidia(ctx, nvml_loader=no_nvml)
    assert time.monotonic() - start < COLLECTOR_TIMEOUT  # the runner would discard a slower answer
    assert facts["source"] is None and facts["gpus"] == []
    assert facts["smi"]["error"] == "nvidia-smi did not answer within 1s (it can hang when a GPU or the driver is stuck)"


def test_failing_nvidia_smi_message_is_kept(smi_env, tmp_path):
    message = "Failed to initialize NVML: Driver/library version mismatch"
    ctx = Context(env=smi_env(H100, FAKE_NVSMI_FAIL=message), sys_root=tmp_path, proc_root=tmp_path)
    facts = collect_nvidia(ctx, nvml_loader=no_nvml)
    assert facts["source"] is None
    assert message in facts["smi"]["error"]
    assert nvsmi.classify_error(facts["smi"]["error"]) == "lib_rm_version_mismatch"


def test_no_driver_at_all(tmp_path, clean_env):
    ctx = Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path)
    facts = collect_nvidia(ctx, nvml_loader=lambda: FakeNVML(init_error=pynvml.NVMLError_LibraryNotFound))
    assert facts["source"] is None and facts["gpus"] == []
    assert facts["nvml_error"]["kind"] == "library_not_found"
    assert facts["smi"] == {"path": None, "error": "nvidia-smi is not on PATH"}
    assert facts["proc_driver_present"] is False and facts["pci_gpus"] == []


# --- NVML -------------------------------------------------------------------------------------

MIB = 1024 * 1024


class FakeNVML:
    """Enough of pynvml's API to replay one machine. Values come from a capture (see _from_capture)."""

    NVMLError = pynvml.NVMLError
    NVML_DEVICE_MIG_ENABLE = pynvml.NVML_DEVICE_MIG_ENABLE
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU

    def __init__(self, gpus=(), apps=(), mig=None, driver="590.48.01", cuda=13010, init_error=None,
                 drop=()):
        self.gpus, self.apps, self.mig = list(gpus), list(apps), mig or {}
        self.driver, self.cuda, self.init_error = driver, cuda, init_error
        self.calls = []
        for name in drop:  # simulate an older binding without a versioned function
            setattr(self, name, None)

    def __getattribute__(self, name):
        value = object.__getattribute__(self, name)
        if value is None and name.startswith("nvml"):
            raise AttributeError(name)
        return value

    def nvmlInit(self):
        self.calls.append("init")
        if self.init_error:
            raise self.init_error()

    def nvmlInitWithFlags(self, flags):
        self.nvmlInit()

    def nvmlShutdown(self):
        self.calls.append("shutdown")

    def nvmlSystemGetDriverVersion(self):
        return self.driver

    def nvmlSystemGetCudaDriverVersion_v2(self):
        return self.cuda

    def nvmlSystemGetCudaDriverVersion(self):
        return self.cuda

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        return ("gpu", index)

    def _gpu(self, handle):
        return self.gpus[handle[1]]

    def nvmlDeviceGetName(self, handle):
        if handle[0] == "mig":
            return self.mig[handle[1]][handle[2]]["name"]
        return self._gpu(handle)["name"]

    def nvmlDeviceGetUUID(self, handle):
        if handle[0] == "mig":
            return self.mig[handle[1]][handle[2]]["uuid"]
        return self._gpu(handle)["uuid"]

    def nvmlDeviceGetPciInfo_v3(self, handle):
        return SimpleNamespace(busId=self._gpu(handle)["pci_bus_id"].encode())

    def nvmlDeviceGetMemoryInfo(self, handle):
        gpu = self._gpu(handle)
        return SimpleNamespace(total=gpu["memory_total_mib"] * MIB, used=gpu["memory_used_mib"] * MIB)

    def nvmlDeviceGetUtilizationRates(self, handle):
        util = self._gpu(handle)["utilization_gpu_pct"]
        if util is None:
            raise pynvml.NVMLError_NotSupported()
        return SimpleNamespace(gpu=util, memory=0)

    def nvmlDeviceGetTemperature(self, handle, sensor):
        return self._gpu(handle)["temperature_c"]

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        major, minor = self._gpu(handle)["compute_capability"].split(".")
        return (int(major), int(minor))

    def nvmlDeviceGetMigMode(self, handle):
        mode = self._gpu(handle)["mig_mode"]
        if mode is None:
            raise pynvml.NVMLError_NotSupported()
        value = 1 if mode == "Enabled" else 0
        return [value, value]

    def nvmlDeviceGetMaxMigDeviceCount(self, handle):
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle, slot):
        if slot >= len(self.mig.get(handle[1], [])):
            raise pynvml.NVMLError_NotFound()
        return ("mig", handle[1], slot)

    def _processes(self, handle):
        uuid = self._gpu(handle)["uuid"]
        return [SimpleNamespace(pid=a["pid"], usedGpuMemory=a["used_memory_mib"] * MIB) for a in self.apps if a["gpu_uuid"] == uuid]

    def nvmlDeviceGetComputeRunningProcesses_v3(self, handle):
        return self._processes(handle)

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return self._processes(handle)

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle):
        return []


def _from_capture(capture: str, **kwargs) -> FakeNVML:
    rec = _recorded(capture)
    mig = {g["index"]: g["mig_devices"] for g in rec["list"] if g["mig_devices"]}
    return FakeNVML(rec["gpus"], rec["apps"], mig, driver=rec["header"]["driver_version"], **kwargs)


@pytest.mark.parametrize("capture", [H100, MIG, "linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt"])
def test_nvml_path_replays_a_machine(tmp_path, clean_env, capture):
    fake = _from_capture(capture)
    ctx = Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path)
    facts = collect_nvidia(ctx, nvml_loader=lambda: fake)
    rec = _recorded(capture)
    assert facts["source"] == "nvml" and facts["nvml_error"] is None
    assert fake.calls == ["init", "shutdown"]
    assert facts["driver_version"] == rec["header"]["driver_version"]
    assert facts["cuda_driver_version"] == "13.1"
    gpu, want = facts["gpus"][0], rec["gpus"][0]
    for key in ("name", "uuid", "pci_bus_id", "memory_total_mib", "memory_used_mib", "utilization_gpu_pct",
                "temperature_c", "compute_capability", "mig_mode"):
        assert gpu[key] == want[key], key
    assert [p["pid"] for p in gpu["processes"]] == [a["pid"] for a in rec["apps"]]
    assert [p["used_memory_mib"] for p in gpu["processes"]] == [a["used_memory_mib"] for a in rec["apps"]]
    expected_mig = rec["list"][0]["mig_devices"] if want["mig_mode"] == "Enabled" else []
    assert gpu["mig_devices"] == expected_mig


def test_nvml_falls_back_to_older_function_names(tmp_path, clean_env):
    fake = _from_capture(H100, drop=("nvmlSystemGetCudaDriverVersion_v2", "nvmlDeviceGetComputeRunningProcesses_v3"), cuda=12040)
    facts = collect_nvidia(Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path), nvml_loader=lambda: fake)
    assert facts["cuda_driver_version"] == "12.4"
    assert len(facts["gpus"][0]["processes"]) == len(_recorded(H100)["apps"]) > 0


def test_process_owner_comes_from_psutil(tmp_path, clean_env):
    import getpass

    rec = _recorded(H100)
    apps = [{"gpu_uuid": rec["gpus"][0]["uuid"], "pid": os.getpid(), "used_memory_mib": 100}]
    fake = FakeNVML(rec["gpus"], apps)
    facts = collect_nvidia(Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path), nvml_loader=lambda: fake)
    [proc] = facts["gpus"][0]["processes"]
    assert proc["pid"] == os.getpid() and proc["user"] == getpass.getuser() and proc["name"]


@pytest.mark.parametrize("error, kind", [
    (pynvml.NVMLError_LibraryNotFound, "library_not_found"),
    (pynvml.NVMLError_DriverNotLoaded, "driver_not_loaded"),
    (pynvml.NVMLError_LibRmVersionMismatch, "lib_rm_version_mismatch"),
    (pynvml.NVMLError_NoPermission, "no_permission"),
    (pynvml.NVMLError_FunctionNotFound, "function_not_found"),
    (pynvml.NVMLError_Unknown, "unknown"),
])
def test_nvml_error_classes_map_to_kinds(tmp_path, clean_env, error, kind):
    fake = FakeNVML(init_error=error)
    facts = collect_nvidia(Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path), nvml_loader=lambda: fake)
    assert facts["nvml_error"]["kind"] == kind
    assert error.__name__ in facts["nvml_error"]["message"]
    assert facts["source"] is None


def test_nvml_failure_then_nvidia_smi_answers(smi_env, tmp_path):
    fake = FakeNVML(init_error=pynvml.NVMLError_FunctionNotFound)
    ctx = Context(env=smi_env(H100), sys_root=tmp_path, proc_root=tmp_path)
    facts = collect_nvidia(ctx, nvml_loader=lambda: fake)
    assert facts["source"] == "nvidia-smi" and facts["nvml_error"]["kind"] == "function_not_found"
    assert len(facts["gpus"]) == 1


def test_real_binding_is_described(tmp_path, clean_env):
    facts = collect_nvidia(Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path), nvml_loader=lambda: pynvml)
    assert facts["pynvml"]["module_file"] == pynvml.__file__
    assert facts["pynvml"]["has_nvmlInitWithFlags"] is True
    assert facts["pynvml"]["distribution"] == "nvidia-ml-py"
    from importlib.metadata import version

    assert facts["pynvml"]["version"] == version("nvidia-ml-py")


# --- files under /proc, /dev and /sys ------------------------------------------------------------

# The first line of /proc/driver/nvidia/version as the open and the proprietary modules print it.
OPEN_MODULE = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  590.48.01  Release Build  (dvs-builder@U22)  Mon Dec  1 00:00:00 UTC 2025\n"
PROPRIETARY = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.154.05  Thu Dec 28 15:37:48 UTC 2023\n"


@pytest.mark.parametrize("line, version", [(OPEN_MODULE, "590.48.01"), (PROPRIETARY, "535.154.05")])
def test_kernel_module_dev_nodes_libraries_and_pci(tmp_path, clean_env, line, version):
    proc = tmp_path / "proc"
    (proc / "driver" / "nvidia").mkdir(parents=True)
    (proc / "driver" / "nvidia" / "version").write_text(line + "GCC version:  gcc version 12.3.0\n")
    root = tmp_path / "root"
    (root / "dev").mkdir(parents=True)
    for node in ("nvidiactl", "nvidia0", "nvidia1", "nvidia10", "nvidia-modeset"):
        (root / "dev" / node).write_text("")
    lib = root / "usr" / "lib" / "x86_64-linux-gnu"
    lib.mkdir(parents=True)
    for name in ("libnvidia-ml.so.1", "libnvidia-ml.so.590.48.01"):
        (lib / name).write_text("")
    pci = root / "sys" / "bus" / "pci" / "devices"
    for slot, vendor, klass in (("0000:01:00.0", "0x10de", "0x030200"), ("0000:01:00.1", "0x10de", "0x040300"),
                                ("0000:02:00.0", "0x8086", "0x030000")):
        (pci / slot).mkdir(parents=True)
        (pci / slot / "vendor").write_text(vendor + "\n")
        (pci / slot / "class").write_text(klass + "\n")
        (pci / slot / "device").write_text("0x2330\n")
    ctx = Context(env=clean_env, sys_root=root, proc_root=proc)
    facts = collect_nvidia(ctx, nvml_loader=lambda: FakeNVML(init_error=pynvml.NVMLError_LibRmVersionMismatch))
    assert facts["kernel_module_version"] == version
    assert facts["proc_driver_present"] is True
    assert facts["dev_nodes"] == {"/dev/nvidiactl": True, "/dev/nvidia-uvm": False, "/dev/nvidia0": True,
                                  "/dev/nvidia1": True, "/dev/nvidia10": True}
    assert facts["library_versions"] == ["590.48.01"]
    # Only the NVIDIA display controller, not its audio function nor the Intel GPU.
    assert facts["pci_gpus"] == [{"slot": "0000:01:00.0", "device": "0x2330"}]


def test_registered_with_a_timeout():
    from envcheck.facts import all_collectors

    registered = all_collectors()["nvidia"]
    assert registered.fn is nvidia.collect and registered.timeout == COLLECTOR_TIMEOUT


# --- one GPU fallen off the bus -----------------------------------------------------------------


class OneLostGPU(FakeNVML):
    """Four GPUs; nvmlDeviceGetHandleByIndex(lost) raises `error`, as NVML does for a GPU that fell off the bus."""

    def __init__(self, *args, lost=1, error=pynvml.NVMLError_GpuIsLost, after_handle=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.lost, self.error, self.after_handle = lost, error, after_handle

    def nvmlDeviceGetHandleByIndex(self, index):
        if index == self.lost and not self.after_handle:
            raise self.error()
        return super().nvmlDeviceGetHandleByIndex(index)

    def nvmlDeviceGetUUID(self, handle):
        if self.after_handle and handle == ("gpu", self.lost):
            raise self.error()
        return super().nvmlDeviceGetUUID(handle)


def _four_h100(**kwargs) -> OneLostGPU:
    rec = _recorded(H100)
    gpus = []
    for index in range(4):
        gpu = dict(rec["gpus"][0], index=index, uuid=f"GPU-{index:08x}-0000-4000-8000-000000000000",
                   pci_bus_id=f"00000000:{0x18 + index:02X}:00.0")
        gpus.append(gpu)
    return OneLostGPU(gpus, **kwargs)


@pytest.mark.parametrize("error, kind", [
    (pynvml.NVMLError_GpuIsLost, "gpu_is_lost"),
    (pynvml.NVMLError_Unknown, "unknown"),
    (pynvml.NVMLError_ResetRequired, "reset_required"),
])
def test_one_lost_gpu_does_not_hide_the_others(tmp_path, clean_env, error, kind):
    fake = _four_h100(error=error)
    facts = collect_nvidia(Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path), nvml_loader=lambda: fake)
    assert facts["source"] == "nvml" and facts["nvml_error"] is None
    assert [g["index"] for g in facts["gpus"]] == [0, 2, 3]
    assert [g["uuid"] for g in facts["gpus"]] == [f"GPU-{i:08x}-0000-4000-8000-000000000000" for i in (0, 2, 3)]
    [lost] = facts["gpu_errors"]
    assert lost["index"] == 1 and lost["kind"] == kind
    assert lost["message"] == f"{error.__name__}: {error()}"
    assert lost["call"] == "nvmlDeviceGetHandleByIndex"
    assert fake.calls == ["init", "shutdown"]


def test_gpu_lost_after_its_handle_is_an_error_not_a_blank_gpu(tmp_path, clean_env):
    # The handle can come back and the GPU's first reading then answer GPU_IS_LOST.
    fake = _four_h100(lost=2, after_handle=True)
    facts = collect_nvidia(Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path), nvml_loader=lambda: fake)
    assert [g["index"] for g in facts["gpus"]] == [0, 1, 3]
    [lost] = facts["gpu_errors"]
    assert lost["index"] == 2 and lost["kind"] == "gpu_is_lost" and "GPU is lost" in lost["message"]
    assert lost["pci_bus_id"] == "00000000:1A:00.0" and lost["uuid"] is None


def test_healthy_machine_has_no_gpu_errors(tmp_path, clean_env, smi_env):
    facts = collect_nvidia(Context(env=clean_env, sys_root=tmp_path, proc_root=tmp_path),
                           nvml_loader=lambda: _from_capture(H100))
    assert facts["gpu_errors"] == []
    smi = collect_nvidia(Context(env=smi_env(H100), sys_root=tmp_path, proc_root=tmp_path), nvml_loader=no_nvml)
    assert smi["source"] == "nvidia-smi" and smi["gpu_errors"] == []


def test_nvidia_smi_lists_the_other_gpus_when_one_fell_off_the_bus(tmp_path, clean_env):
    # nvidia-smi prints the readable GPUs, a line for the lost one, and exits non-zero (seen as 15).
    row = fake_smi._pick(fake_smi.section((CAPTURES / H100).read_text(), "load :: query-gpu"),
                         list(nvsmi.GPU_FIELDS), noheader=True, nounits=True, is_apps=False).strip()
    second = row.replace("0, ", "2, ", 1)
    lost = "Unable to determine the device handle for GPU 0000:3B:00.0: GPU is lost.  Reboot the system to recover this GPU"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "rows.txt").write_text(f"{row}\n{lost}\n{second}\n")
    (bin_dir / "nvidia-smi").write_text(
        "#!/bin/sh\n"
        f'case "$1" in --query-gpu=*) cat "{tmp_path / "rows.txt"}";; *) echo "{lost}";; esac\nexit 15\n')
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = dict(clean_env, PATH=f"{bin_dir}:{clean_env['PATH']}")
    facts = collect_nvidia(Context(env=env, sys_root=tmp_path, proc_root=tmp_path), nvml_loader=no_nvml)
    assert facts["source"] == "nvidia-smi"
    assert [g["index"] for g in facts["gpus"]] == [0, 2]
    assert facts["gpus"][0]["name"] == _recorded(H100)["gpus"][0]["name"]
    [error] = facts["gpu_errors"]
    assert error["pci_bus_id"] == "0000:3B:00.0" and error["kind"] == "gpu_is_lost" and error["message"] == lost
    assert "exited with 15" in facts["smi"]["error"]


def test_look_alike_binding_is_named_from_the_record_beside_it(tmp_path):
    # An old `pynvml` distribution's own pynvml.py: found from the dist-info folder beside the
    # module whose RECORD lists it, without reading every installed distribution.
    from envcheck.facts.nvidia import _binding_facts

    (tmp_path / "pynvml.py").write_text("def nvmlInit():\n    pass\n")
    info = tmp_path / "pynvml-11.4.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pynvml\nVersion: 11.4.1\n\nlong text\nName: other\n")
    (info / "RECORD").write_text("pynvml.py,sha256=abc,20\npynvml-11.4.1.dist-info/METADATA,,\n")
    other = tmp_path / "nvidia_ml_py-13.0.0.dist-info"  # installed there too, but not the file imported
    other.mkdir()
    (other / "METADATA").write_text("Name: nvidia-ml-py\nVersion: 13.0.0\n\n")
    (other / "RECORD").write_text("example.py,,\n")

    class Module:
        __file__ = str(tmp_path / "pynvml.py")

        def nvmlInit(self):
            pass

    facts = _binding_facts(Module())
    assert (facts["distribution"], facts["version"]) == ("pynvml", "11.4.1")
    assert facts["has_nvmlInitWithFlags"] is False
