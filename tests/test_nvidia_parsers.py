"""nvidia-smi parsers fed the six real captures (tests/fixtures/nvidia-smi/README.md).

Expected values are read from the capture in the test (with the csv module, or from another
section such as `--version`) rather than copied from the parser's output.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import re
from pathlib import Path

import pytest

from envcheck.facts import nvsmi

CAPTURES = Path(__file__).resolve().parent / "fixtures" / "nvidia-smi"
NAMES = sorted(p.name for p in CAPTURES.glob("*.txt"))

spec = importlib.util.spec_from_file_location("fake_nvidia_smi", CAPTURES.parent / "fake_nvidia_smi.py")
fake_smi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fake_smi)


def _text(name: str) -> str:
    return (CAPTURES / name).read_text()


def _rows(body: str) -> list[dict[str, str]]:
    """The recorded CSV as dicts, header units removed: an independent reading of the capture."""
    rows = list(csv.reader(io.StringIO(body.strip()), skipinitialspace=True))
    header = [re.sub(r" \[.*\]$", "", h) for h in rows[0]]
    return [dict(zip(header, r)) for r in rows[1:] if r]


def test_all_six_captures_are_present():
    assert len(NAMES) == 6
    assert (CAPTURES / "LICENSE").is_file() and (CAPTURES / "README.md").is_file()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("state", ["idle", "load"])
def test_query_gpu_csv_with_header_and_units(name, state):
    body = fake_smi.section(_text(name), f"{state} :: query-gpu")
    recorded = _rows(body)
    gpus = nvsmi.parse_gpus(body, fields=None)
    assert len(gpus) == len(recorded) >= 1
    for gpu, row in zip(gpus, recorded):
        # The model name is also in the file name: a second, independent check.
        assert gpu["name"] == row["name"]
        if "mig" not in name:
            assert gpu["name"].lower().replace(" ", "-") == name.split("__")[1]
        assert gpu["index"] == int(row["index"])
        assert gpu["uuid"] == row["uuid"] and gpu["uuid"].startswith("GPU-")
        assert gpu["pci_bus_id"] == row["pci.bus_id"]
        assert re.fullmatch(r"[0-9A-F]{8}:[0-9A-F]{2}:[0-9A-F]{2}\.\d", gpu["pci_bus_id"])
        assert gpu["memory_total_mib"] == int(row["memory.total"].split()[0])
        assert gpu["memory_used_mib"] == int(row["memory.used"].split()[0])
        assert gpu["compute_capability"] == row["compute_cap"]
        assert re.fullmatch(r"\d+\.\d", gpu["compute_capability"])
        assert gpu["temperature_c"] == int(row["temperature.gpu"])
        util = row["utilization.gpu"]
        assert gpu["utilization_gpu_pct"] == (None if util.startswith("[") else int(util.split()[0]))
        mig = row["mig.mode.current"]
        assert gpu["mig_mode"] == (None if mig.startswith("[") else mig)


def test_not_available_values_become_none():
    # A MIG-enabled H100 reports no whole-GPU utilisation; a GeForce has no MIG mode.
    mig = nvsmi.parse_gpus(fake_smi.section(_text("linux-x86_64__nvidia-h100-mig__590.48.01.txt"), "load :: query-gpu"), None)
    assert mig[0]["utilization_gpu_pct"] is None and mig[0]["mig_mode"] == "Enabled"
    geforce = nvsmi.parse_gpus(fake_smi.section(_text("linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt"), "idle :: query-gpu"), None)
    assert geforce[0]["mig_mode"] is None
    assert nvsmi.to_int("[Not Supported]") is None and nvsmi.to_int("[N/A]") is None
    assert nvsmi.to_int("81559 MiB") == 81559 and nvsmi.to_int("42") == 42


def test_noheader_nounits_form_the_collector_asks_for():
    line = "3, NVIDIA H100 80GB HBM3, GPU-abc, 00000000:19:00.0, 81559, 40000, [N/A], 87, 9.0, Disabled, 590.48.01\n"
    [gpu] = nvsmi.parse_gpus(line)
    assert gpu["index"] == 3 and gpu["memory_used_mib"] == 40000 and gpu["utilization_gpu_pct"] is None
    assert gpu["temperature_c"] == 87 and gpu["mig_mode"] == "Disabled"
    assert nvsmi.parse_driver_version_from_query(line) == "590.48.01"


@pytest.mark.parametrize("name", NAMES)
def test_compute_apps(name):
    body = fake_smi.section(_text(name), "load :: query-compute-apps")
    recorded = _rows(body)
    apps = nvsmi.parse_compute_apps(body, fields=None)
    assert [a["pid"] for a in apps] == [int(r["pid"]) for r in recorded]
    assert [a["name"] for a in apps] == [r["process_name"] for r in recorded]
    assert [a["used_memory_mib"] for a in apps] == [int(r["used_gpu_memory"].split()[0]) for r in recorded]
    assert all(a["gpu_uuid"].startswith("GPU-") for a in apps)


def test_idle_h100_has_no_processes():
    body = fake_smi.section(_text("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt"), "idle :: query-compute-apps")
    assert nvsmi.parse_compute_apps(body, fields=None) == []


def test_process_name_with_a_comma_keeps_the_numbers_aligned():
    apps = nvsmi.parse_compute_apps("GPU-x, 42, python train.py --tags a,b, 1024\n")
    assert apps == [{"gpu_uuid": "GPU-x", "pid": 42, "name": "python train.py --tags a, b", "used_memory_mib": 1024}]


@pytest.mark.parametrize("name", NAMES)
def test_list_and_mig_devices(name):
    body = fake_smi.section(_text(name), "capabilities :: list (-L)")
    gpus = nvsmi.parse_list(body)
    assert len(gpus) == sum(1 for line in body.splitlines() if line.startswith("GPU "))
    mig_lines = [line for line in body.splitlines() if line.strip().startswith("MIG ")]
    assert sum(len(g["mig_devices"]) for g in gpus) == len(mig_lines)
    if "mig" in name:
        assert len(mig_lines) == 4
        assert all(m["uuid"].startswith("MIG-") and m["name"].startswith("MIG ") for m in gpus[0]["mig_devices"])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("state", ["idle", "load"])
def test_header_versions_match_version_section(name, state):
    text = _text(name)
    version = fake_smi.section(text, "capabilities :: version")
    expected_driver = re.search(r"DRIVER version\s*:\s*(\S+)", version).group(1)
    expected_cuda = re.search(r"CUDA Version\s*:\s*(\S+)", version).group(1)
    header = nvsmi.parse_header(fake_smi.section(text, f"{state} :: nvidia-smi (default table)"))
    assert header == {"driver_version": expected_driver, "cuda_driver_version": expected_cuda}
    assert expected_driver in name  # the file name carries the driver version too


@pytest.mark.parametrize("message, kind", [
    ("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 590.48", "lib_rm_version_mismatch"),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest "
     "NVIDIA driver is installed and running.", "driver_not_loaded"),
    ("NVIDIA-SMI couldn't find libnvidia-ml.so library in your system.", "library_not_found"),
    ("some other failure", None),
    ("Failed to initialize NVML: Insufficient Permissions", "no_permission"),
    ("No devices were found", "no_devices"),
])
def test_classify_smi_errors(message, kind):
    assert nvsmi.classify_error(message) == kind


# --- a GPU in trouble: "[GPU requires reset]", "[Unknown Error]", "N/A", lost handles ------------------

LOST_LINE = "Unable to determine the device handle for GPU 0000:3B:00.0: GPU is lost.  Reboot the system to recover this GPU"
UNKNOWN_LINE = "Unable to determine the device handle for GPU0000:07:00.0: Unknown Error"


def _sick_query(name: str) -> tuple[str, dict[str, str]]:
    """The capture's --query-gpu answer (with its header) plus: a GPU whose every reading says
    "[GPU requires reset]", a GPU whose numbers say "[Unknown Error]" / "N/A", and two handle errors."""
    body = fake_smi.section(_text(name), "load :: query-gpu")
    rows = list(csv.reader(io.StringIO(body.strip()), skipinitialspace=True))
    header, first = rows[0], rows[1]
    plain = [re.sub(r" \[.*\]$", "", h) for h in header]
    reset = ["[GPU requires reset]"] * len(header)
    reset[plain.index("index")] = "7"
    reset[plain.index("pci.bus_id")] = "00000000:9A:00.0"
    unknown = list(first)
    unknown[plain.index("index")] = "8"
    for field in ("memory.total", "memory.used", "temperature.gpu"):
        unknown[plain.index(field)] = "[Unknown Error]"
    unknown[plain.index("utilization.gpu")] = "N/A"
    unknown[plain.index("compute_cap")] = "Unknown Error"
    lines = [", ".join(r) for r in rows] + [", ".join(reset), LOST_LINE, ", ".join(unknown), UNKNOWN_LINE]
    return "\n".join(lines) + "\n", dict(zip(plain, first))


@pytest.mark.parametrize("name", NAMES)
def test_gpu_error_values_in_each_capture_do_not_crash_or_invent_gpus(name):
    text, first = _sick_query(name)
    recorded = _rows(fake_smi.section(_text(name), "load :: query-gpu"))
    gpus, errors = nvsmi.parse_gpus_and_errors(text, fields=None)
    # The recorded GPUs, then the one whose name is known though its numbers are not.
    assert [g["index"] for g in gpus] == [int(r["index"]) for r in recorded] + [8]
    sick = gpus[-1]
    assert sick["name"] == first["name"] and sick["uuid"] == first["uuid"]
    assert sick["memory_total_mib"] is None and sick["memory_used_mib"] is None and sick["temperature_c"] is None
    assert sick["utilization_gpu_pct"] is None and sick["compute_capability"] is None
    assert [(e["index"], e["pci_bus_id"], e["kind"]) for e in errors] == [
        (None, "0000:3B:00.0", "gpu_is_lost"), (None, "0000:07:00.0", "unknown"), (7, "00000000:9A:00.0", "reset_required")]
    assert errors[0]["message"] == LOST_LINE
    # The plain parser gives the same GPUs: no row made of an error line or of "[GPU requires reset]".
    assert nvsmi.parse_gpus(text, fields=None) == gpus
