"""gpu_health (issue #12): the topo -m parser on public outputs, the --query-gpu fallback on the
real captures (through the fake nvidia-smi), a fake NVML, the no-driver path, and the gpu checks."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pynvml
import pytest

from envcheck.checks import gpu as checks
from envcheck.core.context import Context
from envcheck.core.model import Facts, Status
from envcheck.facts import gpu_health
from envcheck.facts.gpu_health import collect_gpu_health, parse_topo_matrix

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOPO = FIXTURES / "nvidia-smi-topo"
CAPTURES = FIXTURES / "nvidia-smi"
spec = importlib.util.spec_from_file_location("fake_nvidia_smi", FIXTURES / "fake_nvidia_smi.py")
fake_smi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fake_smi)


def test_topo_nvlink_pairs_numa_and_nic_rows():
    topo = parse_topo_matrix((TOPO / "4x-nv3-traverse.topo-m.txt").read_text())
    assert topo["gpus"] == [0, 1, 2, 3]
    assert topo["devices"][4:] == ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]
    links = {(p["a"], p["b"]): (p["link"], p["nvlinks"]) for p in topo["pairs"]}
    assert links[(0, 1)] == ("NV3", 3) and links[(2, 3)] == ("NV3", 3) and links[(0, 2)] == ("SYS", 0)
    assert topo["affinity"]["GPU2"] == {"CPU Affinity": "64-127", "NUMA Affinity": "8"}
    assert topo["affinity"]["mlx5_0"] == {"CPU Affinity": None, "NUMA Affinity": None}
    assert topo["matrix"]["mlx5_0"]["mlx5_1"] == "PIX"
    assert topo["legend"]["NV#"].startswith("Connection traversing a bonded set")


def test_topo_pcie_only_with_gpu_numa_id_and_sys():
    phb = parse_topo_matrix((TOPO / "2x-rtx5090-phb.topo-m.txt").read_text())
    assert phb["pairs"] == [{"a": 0, "b": 1, "link": "PHB", "nvlinks": 0}]
    assert phb["affinity"]["GPU1"] == {"CPU Affinity": "0-63", "NUMA Affinity": "0", "GPU NUMA ID": None}
    sys_ = parse_topo_matrix((TOPO / "2x-a100-pcie-sys-della.topo-m.txt").read_text())
    assert sys_["pairs"][0]["link"] == "SYS" and sys_["affinity"]["GPU1"]["NUMA Affinity"] == "1"
    p2p = parse_topo_matrix((TOPO / "2x-rtx5090-phb.topo-p2p-rw.txt").read_text())
    assert p2p["pairs"][0]["link"] == "GNS" and p2p["legend"]["GNS"] == "GPU not supported"
    assert parse_topo_matrix("No devices were found") is None


@pytest.fixture
def driver_root(tmp_path):
    (tmp_path / "proc" / "driver" / "nvidia").mkdir(parents=True)
    return tmp_path


def _smi_env(tmp_path, clean_env, capture, state="load", topo=None):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    topo_case = f'  "topo -m") cat "{topo}"; exit 0;;\n' if topo else ""
    (bin_dir / "nvidia-smi").write_text(
        "#!/bin/sh\ncase \"$*\" in\n" + topo_case + "esac\n"
        f'exec "{sys.executable}" "{FIXTURES / "fake_nvidia_smi.py"}" "$@"\n')
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = dict(clean_env, PATH=f"{bin_dir}:{clean_env['PATH']}", FAKE_NVSMI_CAPTURE=str(CAPTURES / capture),
               FAKE_NVSMI_STATE=state, NCCL_P2P_DISABLE="1")
    return env


def _no_nvml():
    raise ImportError("No module named 'pynvml'")


@pytest.mark.parametrize("capture", sorted(p.name for p in CAPTURES.glob("*.txt")))
def test_fallback_on_each_real_capture(tmp_path, clean_env, driver_root, capture):
    env = _smi_env(tmp_path, clean_env, capture, topo=TOPO / "2x-rtx5090-phb.topo-m.txt")
    ctx = Context(env=env, proc_root=driver_root / "proc", sys_root=driver_root)
    facts = collect_gpu_health(ctx, nvml_loader=_no_nvml)
    assert facts["source"] == "nvidia-smi" and facts["driver"] is True
    gpu = facts["gpus"][0]
    # Against the capture read independently with the csv module.
    row = [r for r in __import__("csv").DictReader(
        fake_smi.section((CAPTURES / capture).read_text(), "load :: query-gpu").strip().splitlines(), skipinitialspace=True)][0]
    row = {k.split(" [")[0]: v for k, v in row.items()}
    assert gpu["clock_event_mask"] == int(row["clocks_event_reasons.active"], 16)
    assert gpu["temperature_c"] == int(row["temperature.gpu"])
    assert gpu["pcie_width_max"] == int(row["pcie.link.width.max"])
    assert gpu["persistence_mode"] == row["persistence_mode"]
    assert facts["nccl_env"] == {"NCCL_P2P_DISABLE": "1"}
    assert facts["topology"]["pairs"][0]["link"] == "PHB"


def test_fallback_values_of_two_captures(tmp_path, clean_env, driver_root):
    ctx = Context(env=_smi_env(tmp_path, clean_env, "linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt", "idle"),
                  proc_root=driver_root / "proc", sys_root=driver_root)
    gpu = collect_gpu_health(ctx, nvml_loader=_no_nvml)["gpus"][0]
    # Recorded at idle: software power cap active (0x4), gen 1 of 3, ECC not reported on GeForce.
    assert gpu["clock_event_reasons"] == ["sw_power_cap"]
    assert (gpu["pcie_gen_current"], gpu["pcie_gen_max"]) == (1, 3)
    assert gpu["ecc_mode"] is None and gpu["persistence_mode"] == "Disabled"
    ctx = Context(env=_smi_env(tmp_path, clean_env, "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt"),
                  proc_root=driver_root / "proc", sys_root=driver_root)
    h100 = collect_gpu_health(ctx, nvml_loader=_no_nvml)["gpus"][0]
    assert (h100["temperature_c"], h100["slowdown_margin_c"], h100["slowdown_temp_c"]) == (59, 26, 85)
    assert h100["ecc_uncorrected_volatile"] == 0 and h100["remapped_rows_pending"] is False
    assert h100["power_draw_w"] == 631.95 and h100["power_limit_w"] == 700.0


def test_no_driver_is_fast_data(tmp_path, clean_env):
    ctx = Context(env=clean_env, proc_root=tmp_path / "proc", sys_root=tmp_path)
    start = time.monotonic()
    facts = collect_gpu_health(ctx, nvml_loader=lambda: pytest.fail("NVML must not be loaded without a driver"))
    assert time.monotonic() - start < 0.1
    assert facts["driver"] is False and facts["error"].startswith("no driver") and facts["gpus"] == []


class FakeNVML(SimpleNamespace):
    NVMLError = pynvml.NVMLError

    def __init__(self, nvlink_states=(1, 1, 0), p2p=0):
        super().__init__()
        self.nvlink_states, self.p2p = nvlink_states, p2p

    def nvmlInit(self): pass
    def nvmlShutdown(self): pass
    def nvmlDeviceGetCount(self): return 2
    def nvmlDeviceGetHandleByIndex(self, i): return i
    def nvmlDeviceGetName(self, h): return "NVIDIA H100 80GB HBM3"
    def nvmlDeviceGetUUID(self, h): return f"GPU-{h}"
    def nvmlDeviceGetPciInfo(self, h): return SimpleNamespace(busId=f"00000000:0{h}:00.0")
    def nvmlDeviceGetCurrentClocksEventReasons(self, h): return 0x40 | 0x1 if h == 1 else 0x1
    def nvmlDeviceGetTemperature(self, h, kind): return 83
    def nvmlDeviceGetTemperatureThreshold(self, h, kind): return 87
    def nvmlDeviceGetPowerUsage(self, h): return 650000
    def nvmlDeviceGetEnforcedPowerLimit(self, h): return 700000
    def nvmlDeviceGetEccMode(self, h): return [1, 1]
    def nvmlDeviceGetTotalEccErrors(self, h, kind, counter): return 2 if h == 0 and counter == 0 else 0
    def nvmlDeviceGetRetiredPagesPendingStatus(self, h): raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
    def nvmlDeviceGetRemappedRows(self, h): return (0, 1, 1, 0)
    def nvmlDeviceGetCurrPcieLinkGeneration(self, h): return 5
    def nvmlDeviceGetMaxPcieLinkGeneration(self, h): return 5
    def nvmlDeviceGetCurrPcieLinkWidth(self, h): return 8 if h == 1 else 16
    def nvmlDeviceGetMaxPcieLinkWidth(self, h): return 16
    def nvmlDeviceGetComputeMode(self, h): return 3
    def nvmlDeviceGetPersistenceMode(self, h): return 0
    def nvmlDeviceGetMigMode(self, h): return [0, 0]

    def nvmlDeviceGetNvLinkState(self, h, link):
        if link >= len(self.nvlink_states):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return self.nvlink_states[link]

    def nvmlDeviceGetP2PStatus(self, a, b, index): return self.p2p


def test_nvml_path_and_the_checks_it_feeds(tmp_path, clean_env, driver_root):
    slot = driver_root / "sys" / "bus" / "pci" / "devices" / "0000:01:00.0"
    slot.mkdir(parents=True)
    (slot / "numa_node").write_text("1\n")
    (slot / "local_cpulist").write_text("32-63\n")
    ctx = Context(env=dict(clean_env, NCCL_P2P_DISABLE="1"), proc_root=driver_root / "proc", sys_root=driver_root)
    facts = collect_gpu_health(ctx, nvml_loader=lambda: FakeNVML(p2p=2))
    assert facts["source"] == "nvml"
    g0, g1 = facts["gpus"]
    assert g1["clock_event_reasons"] == ["gpu_idle", "hw_thermal_slowdown"]
    assert (g0["slowdown_margin_c"], g0["power_draw_w"], g0["ecc_uncorrected_volatile"]) == (4, 650.0, 2)
    assert g0["retired_pages_pending"] is None and g0["remapped_rows_pending"] is True
    assert g0["compute_mode"] == "Exclusive_Process" and g0["persistence_mode"] == "Disabled"
    assert [l["state"] for l in g0["nvlink"]] == ["up", "up", "down"]
    assert (g1["numa_node"], g1["cpu_affinity"]) == (1, "32-63") and g0["numa_node"] is None
    assert facts["p2p"] == [{"a": 0, "b": 1, "status": "GNS"}]

    f = Facts.of(gpu_health=facts)
    results = {c: getattr(checks, c)(f) for c in ("throttling", "temperature", "memory_errors", "pcie_link", "compute_mode",
                                                  "persistence", "nvlink", "p2p", "nccl_env")}
    assert results["throttling"].status == Status.FAIL and results["throttling"].who == "admin"
    assert results["temperature"].status == Status.WARN
    assert results["memory_errors"].status == Status.FAIL and "reset" in results["memory_errors"].fix
    assert results["pcie_link"].status == Status.WARN and "x8 of x16" in results["pcie_link"].details[0]
    assert results["compute_mode"].status == Status.WARN and "busy or unavailable" in results["compute_mode"].summary
    assert results["persistence"].status == Status.WARN and "nvidia-persistenced" in results["persistence"].fix
    assert results["nvlink"].status == Status.FAIL
    assert results["p2p"].status == Status.WARN
    # NVLink links up on this machine and NCCL_P2P_DISABLE=1: a contradiction the user can fix.
    assert results["nccl_env"].status == Status.FAIL and results["nccl_env"].who == "you"


def _gpu(**values):
    gpu = gpu_health.empty_gpu(0)
    gpu.update(name="NVIDIA L40S", **values)
    return Facts.of(gpu_health={"driver": True, "gpus": [gpu], "p2p": [], "topology": None, "nccl_env": {}})


def test_checks_on_healthy_and_edge_values():
    assert checks.throttling(_gpu(clock_event_reasons=["gpu_idle"])).status == Status.OK
    assert checks.throttling(_gpu(clock_event_reasons=["sw_power_cap"])).status == Status.WARN
    assert checks.pcie_link(_gpu(pcie_width_current=16, pcie_width_max=16, pcie_gen_current=1, pcie_gen_max=4)).status == Status.OK
    assert checks.memory_errors(_gpu(remapped_rows_failure=True)).status == Status.FAIL
    assert "RMA" in checks.memory_errors(_gpu(remapped_rows_failure=True)).fix
    assert checks.memory_errors(_gpu()).status == Status.SKIP
    assert checks.mig(_gpu(mig_mode="Enabled")).status == Status.WARN
    assert checks.mig(_gpu(mig_mode="Disabled")) is None
    assert checks.compute_mode(_gpu(compute_mode="Prohibited")).status == Status.FAIL
    assert checks.temperature(_gpu(slowdown_margin_c=30)).status == Status.OK
    no_gpu = Facts.of(gpu_health={"driver": False, "gpus": [], "nccl_env": {}})
    assert all(getattr(checks, c)(no_gpu) is None for c in ("throttling", "pcie_link", "nvlink", "p2p", "nccl_env"))
