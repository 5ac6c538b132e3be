"""GPU health and topology: throttling, temperature, power, ECC, retired pages, remapped rows,
PCIe link, compute/persistence/MIG mode, NVLink, P2P, NUMA, the `nvidia-smi topo -m` matrix and
the NCCL_* variables that are set (issue #12).

NVML first (in-process, the nvidia-ml-py binding); `nvidia-smi --query-gpu=<health fields>` when
NVML cannot be loaded (the recorded captures in tests/fixtures/nvidia-smi hold exactly that CSV,
so the fallback parser is tested on real output); `nvidia-smi topo -m` for the connection matrix
either way. On a machine without the NVIDIA driver it returns at once with "no driver" as data.
Every value a GPU does not report stays None: never a guessed number.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable

from envcheck.core.context import Context
from envcheck.facts import collector, nvsmi
from envcheck.i18n import N_

SMI_TIMEOUT = 8.0
COLLECTOR_TIMEOUT = 20.0
NVLINK_MAX_LINKS = 18  # NVML_NVLINK_MAX_LINKS in nvml.h (H100 SXM has 18 links)

# nvml.h clocks event (formerly "throttle") reason bits.
CLOCK_EVENT_BITS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
# nvmlComputeMode_t
COMPUTE_MODES = {0: "Default", 1: "Exclusive_Thread", 2: "Prohibited", 3: "Exclusive_Process"}
# nvmlGpuP2PStatus_t, with the abbreviations `nvidia-smi topo -p2p` prints.
P2P_STATUS = {0: "OK", 1: "CNS", 2: "GNS", 3: "TNS", 4: "DR", 5: "NS", 6: "U"}
# What each abbreviation means, translated where shown (checks/gpu.py: _(P2P_STATUS_TEXT[...])).
P2P_STATUS_TEXT = {
    "OK": N_("supported"), "CNS": N_("chipset not supported"), "GNS": N_("GPU not supported"),
    "TNS": N_("topology not supported"), "DR": N_("disabled by regkey"), "NS": N_("not supported"), "U": N_("unknown"),
}

# The --query-gpu fields of the fallback, in this order. Drivers before 535 name the reasons
# clocks_throttle_reasons.*; the collector retries with that name when these are refused.
SMI_FIELDS: tuple[str, ...] = (
    "index", "name", "uuid", "pci.bus_id", "clocks_event_reasons.active", "temperature.gpu",
    "temperature.gpu.tlimit", "power.draw", "enforced.power.limit", "ecc.mode.current",
    "ecc.errors.uncorrected.volatile.total", "ecc.errors.uncorrected.aggregate.total", "retired_pages.pending",
    "remapped_rows.pending", "remapped_rows.failure", "pcie.link.gen.current", "pcie.link.gen.max",
    "pcie.link.width.current", "pcie.link.width.max", "compute_mode", "persistence_mode", "mig.mode.current",
)

NCCL_PREFIX = "NCCL_"


def decode_reasons(mask: int | None) -> list[str] | None:
    if mask is None:
        return None
    return [name for bit, name in CLOCK_EVENT_BITS.items() if mask & bit]


def _hex_or_int(text: str | None) -> int | None:
    text = nvsmi.clean(text)
    if text is None:
        return None
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    text = nvsmi.clean(text)
    if text is None:
        return None
    match = re.match(r"-?\d+(?:\.\d+)?", text)
    return float(match.group(0)) if match else None


def _yes_no(text: str | None) -> bool | None:
    text = nvsmi.clean(text)
    if text is None:
        return None
    return text.strip().lower() in ("yes", "enabled", "active", "1", "true")


def _mode_text(text: str | None) -> str | None:
    return nvsmi.clean(text)


def empty_gpu(index: int | None) -> dict[str, Any]:
    return {
        "index": index, "name": None, "uuid": None, "pci_bus_id": None,
        "clock_event_mask": None, "clock_event_reasons": None,
        "temperature_c": None, "slowdown_temp_c": None, "slowdown_margin_c": None,
        "power_draw_w": None, "power_limit_w": None,
        "ecc_mode": None, "ecc_uncorrected_volatile": None, "ecc_uncorrected_aggregate": None,
        "retired_pages_pending": None, "remapped_rows_pending": None, "remapped_rows_failure": None,
        "pcie_gen_current": None, "pcie_gen_max": None, "pcie_width_current": None, "pcie_width_max": None,
        "compute_mode": None, "persistence_mode": None, "mig_mode": None,
        "nvlink": None, "numa_node": None, "cpu_affinity": None,
    }


# ---------------------------------------------------------------- nvidia-smi --query-gpu fallback

def gpu_from_query_row(row: dict[str, str | None]) -> dict[str, Any]:
    """One --query-gpu row (field -> text as printed) as a gpu_health "gpus" entry."""
    gpu = empty_gpu(nvsmi.to_int(row.get("index")))
    mask = _hex_or_int(row.get("clocks_event_reasons.active") or row.get("clocks_throttle_reasons.active"))
    temperature = nvsmi.to_int(row.get("temperature.gpu"))
    margin = nvsmi.to_int(row.get("temperature.gpu.tlimit"))
    gpu.update({
        "name": nvsmi.clean(row.get("name")),
        "uuid": nvsmi.clean(row.get("uuid")),
        "pci_bus_id": nvsmi.clean(row.get("pci.bus_id")),
        "clock_event_mask": mask,
        "clock_event_reasons": decode_reasons(mask),
        "temperature_c": temperature,
        # temperature.gpu.tlimit: degrees left before the GPU slows down (nvidia-smi --help-query-gpu).
        "slowdown_margin_c": margin,
        "slowdown_temp_c": temperature + margin if temperature is not None and margin is not None else None,
        "power_draw_w": _float(row.get("power.draw")),
        "power_limit_w": _float(row.get("enforced.power.limit")),
        "ecc_mode": _mode_text(row.get("ecc.mode.current")),
        "ecc_uncorrected_volatile": nvsmi.to_int(row.get("ecc.errors.uncorrected.volatile.total")),
        "ecc_uncorrected_aggregate": nvsmi.to_int(row.get("ecc.errors.uncorrected.aggregate.total")),
        "retired_pages_pending": _yes_no(row.get("retired_pages.pending")),
        "remapped_rows_pending": _yes_no(row.get("remapped_rows.pending")),
        "remapped_rows_failure": _yes_no(row.get("remapped_rows.failure")),
        "pcie_gen_current": nvsmi.to_int(row.get("pcie.link.gen.current")),
        "pcie_gen_max": nvsmi.to_int(row.get("pcie.link.gen.max")),
        "pcie_width_current": nvsmi.to_int(row.get("pcie.link.width.current")),
        "pcie_width_max": nvsmi.to_int(row.get("pcie.link.width.max")),
        "compute_mode": _mode_text(row.get("compute_mode")),
        "persistence_mode": _mode_text(row.get("persistence_mode")),
        "mig_mode": _mode_text(row.get("mig.mode.current")),
    })
    return gpu


def parse_query(text: str, fields: tuple[str, ...] | list[str] | None = SMI_FIELDS) -> list[dict[str, Any]]:
    """The fallback's --query-gpu answer (noheader, or with a header when fields is None)."""
    rows = nvsmi.parse_csv(text, fields, raw=True)
    return [gpu_from_query_row(r) for r in rows if nvsmi.to_int(r.get("index")) is not None]


# ---------------------------------------------------------------- nvidia-smi topo -m

_TRAILING = ("CPU Affinity", "NUMA Affinity", "GPU NUMA ID")
_LEGEND = re.compile(r"^\s*(\S+)\s+=\s+(.+?)\s*$")
_NIC_LEGEND = re.compile(r"^\s*(NIC\d+):\s*(\S+)\s*$")
_NV = re.compile(r"^NV(\d+)$")


def _header_columns(line: str) -> list[str]:
    parts = line.split("\t") if "\t" in line else re.split(r"\s{2,}", line)
    return [p.strip() for p in parts if p.strip()]


def parse_topo_matrix(text: str) -> dict[str, Any] | None:
    """`nvidia-smi topo -m` (or `topo -p2p r`): the matrix, the affinity columns, both legends.

    Format (NVIDIA's legend, printed under the matrix): one column per device (GPU#, NIC# or an
    mlx5_# name), X on the diagonal, NV# for a bonded set of # NVLinks, PIX / PXB / PHB / NODE / SYS
    for PCIe paths from closest to farthest; then "CPU Affinity", "NUMA Affinity" and "GPU NUMA ID"
    where the driver prints them (older drivers print CPU Affinity alone). Returns None when no
    matrix header is found.
    """
    lines = (text or "").splitlines()
    header_at = next((i for i, l in enumerate(lines) if _header_columns(l)[:1] == ["GPU0"]), None)
    if header_at is None:
        return None
    columns = _header_columns(lines[header_at])
    trailing_at = next((i for i, c in enumerate(columns) if c in _TRAILING), len(columns))
    devices, trailing = columns[:trailing_at], columns[trailing_at:]
    matrix: dict[str, dict[str, str]] = {}
    extra: dict[str, dict[str, str | None]] = {}
    for line in lines[header_at + 1:]:
        if not line.strip() or line.strip().startswith("Legend"):
            break
        tokens = line.split()
        name = tokens[0]
        if name not in devices:
            continue
        cells = tokens[1:1 + len(devices)]
        matrix[name] = {dev: cell for dev, cell in zip(devices, cells)}
        rest = tokens[1 + len(devices):]
        extra[name] = {col: (rest[i] if i < len(rest) else None) for i, col in enumerate(trailing)}
    legend, nics = {}, {}
    for line in lines[header_at + 1:]:
        nic = _NIC_LEGEND.match(line)
        if nic:
            nics[nic.group(1)] = nic.group(2)
            continue
        entry = _LEGEND.match(line)
        if entry and not entry.group(1).startswith(("GPU", "NIC")):
            legend[entry.group(1)] = entry.group(2)
    gpus = [d for d in devices if re.fullmatch(r"GPU\d+", d)]
    pairs = []
    for i, a in enumerate(gpus):
        for b in gpus[i + 1:]:
            link = matrix.get(a, {}).get(b)
            nv = _NV.match(link or "")
            pairs.append({"a": int(a[3:]), "b": int(b[3:]), "link": link, "nvlinks": int(nv.group(1)) if nv else 0})
    return {
        "devices": devices,
        "gpus": [int(g[3:]) for g in gpus],
        "matrix": matrix,
        "affinity": {name: {k: (None if v in (None, "N/A") else v) for k, v in cols.items()} for name, cols in extra.items()},
        "pairs": pairs,
        "nics": nics,
        "legend": legend,
    }


# ---------------------------------------------------------------- NVML

def _nvml_call(nvml: Any, name: str, *args: Any) -> Any:
    fn = getattr(nvml, name, None)
    if fn is None:
        return None
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - an NVMLError for one field means "unknown"
        if isinstance(exc, getattr(nvml, "NVMLError", ())):
            return None
        raise


def _first(nvml: Any, names: tuple[str, ...], *args: Any) -> Any:
    for name in names:
        value = _nvml_call(nvml, name, *args)
        if value is not None:
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _enabled(value: Any) -> str | None:
    value = _int(value)
    return None if value is None else ("Enabled" if value == 1 else "Disabled")


def _nvlinks(nvml: Any, handle: Any) -> list[dict[str, Any]] | None:
    """[{"link", "state": "up"/"down"}] for every link the GPU has; None when it has none
    (NVML answers NotSupported on link 0 of a PCIe-only GPU)."""
    links = []
    for link in range(NVLINK_MAX_LINKS):
        state = _nvml_call(nvml, "nvmlDeviceGetNvLinkState", handle, link)
        if state is None:
            if link == 0:
                return None
            continue  # unused link slots answer NotSupported / InvalidArgument
        links.append({"link": link, "state": "up" if state == 1 else "down"})
    return links or None


def gpu_from_nvml(nvml: Any, index: int, handle: Any) -> dict[str, Any]:
    gpu = empty_gpu(index)
    pci = _first(nvml, ("nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo"), handle)
    mask = _first(nvml, ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"), handle)
    temperature = _int(_nvml_call(nvml, "nvmlDeviceGetTemperature", handle, getattr(nvml, "NVML_TEMPERATURE_GPU", 0)))
    slowdown = _int(_nvml_call(nvml, "nvmlDeviceGetTemperatureThreshold", handle,
                               getattr(nvml, "NVML_TEMPERATURE_THRESHOLD_SLOWDOWN", 1)))
    power = _int(_nvml_call(nvml, "nvmlDeviceGetPowerUsage", handle))
    limit = _int(_nvml_call(nvml, "nvmlDeviceGetEnforcedPowerLimit", handle))
    ecc = _nvml_call(nvml, "nvmlDeviceGetEccMode", handle)
    uncorrected = getattr(nvml, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1)
    remapped = _nvml_call(nvml, "nvmlDeviceGetRemappedRows", handle)
    mig = _nvml_call(nvml, "nvmlDeviceGetMigMode", handle)
    compute = _int(_nvml_call(nvml, "nvmlDeviceGetComputeMode", handle))
    ecc_on = isinstance(ecc, (list, tuple)) and ecc and ecc[0] == 1
    gpu.update({
        "name": _text(_nvml_call(nvml, "nvmlDeviceGetName", handle)),
        "uuid": _text(_nvml_call(nvml, "nvmlDeviceGetUUID", handle)),
        "pci_bus_id": _text(getattr(pci, "busId", None)),
        "clock_event_mask": _int(mask),
        "clock_event_reasons": decode_reasons(_int(mask)),
        "temperature_c": temperature,
        "slowdown_temp_c": slowdown,
        "slowdown_margin_c": slowdown - temperature if slowdown is not None and temperature is not None else None,
        "power_draw_w": power / 1000 if power is not None else None,
        "power_limit_w": limit / 1000 if limit is not None else None,
        "ecc_mode": ("Enabled" if ecc_on else "Disabled") if isinstance(ecc, (list, tuple)) and ecc else None,
        "ecc_uncorrected_volatile": _int(_nvml_call(nvml, "nvmlDeviceGetTotalEccErrors", handle, uncorrected,
                                                    getattr(nvml, "NVML_VOLATILE_ECC", 0))) if ecc_on else None,
        "ecc_uncorrected_aggregate": _int(_nvml_call(nvml, "nvmlDeviceGetTotalEccErrors", handle, uncorrected,
                                                     getattr(nvml, "NVML_AGGREGATE_ECC", 1))) if ecc_on else None,
        "retired_pages_pending": (lambda v: None if v is None else v == 1)(
            _int(_nvml_call(nvml, "nvmlDeviceGetRetiredPagesPendingStatus", handle))),
        "remapped_rows_pending": bool(remapped[2]) if isinstance(remapped, (list, tuple)) and len(remapped) >= 4 else None,
        "remapped_rows_failure": bool(remapped[3]) if isinstance(remapped, (list, tuple)) and len(remapped) >= 4 else None,
        "pcie_gen_current": _int(_nvml_call(nvml, "nvmlDeviceGetCurrPcieLinkGeneration", handle)),
        "pcie_gen_max": _int(_nvml_call(nvml, "nvmlDeviceGetMaxPcieLinkGeneration", handle)),
        "pcie_width_current": _int(_nvml_call(nvml, "nvmlDeviceGetCurrPcieLinkWidth", handle)),
        "pcie_width_max": _int(_nvml_call(nvml, "nvmlDeviceGetMaxPcieLinkWidth", handle)),
        "compute_mode": COMPUTE_MODES.get(compute) if compute is not None else None,
        "persistence_mode": _enabled(_nvml_call(nvml, "nvmlDeviceGetPersistenceMode", handle)),
        "mig_mode": _enabled(mig[0]) if isinstance(mig, (list, tuple)) and mig else None,
        "nvlink": _nvlinks(nvml, handle),
    })
    return gpu


def collect_nvml(nvml: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """(gpus, p2p pairs, None) or ([], [], why NVML could not be used)."""
    try:
        nvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError subclasses or OSError from ctypes
        return [], [], f"{type(exc).__name__}: {exc}"
    try:
        handles, gpus = [], []
        for index in range(int(nvml.nvmlDeviceGetCount())):
            handle = _nvml_call(nvml, "nvmlDeviceGetHandleByIndex", index)
            if handle is None:
                continue  # a lost GPU: the nvidia collector and its driver checks report it
            handles.append((index, handle))
            gpus.append(gpu_from_nvml(nvml, index, handle))
        pairs = []
        read = getattr(nvml, "NVML_P2P_CAPS_INDEX_READ", 0)
        for i, (a, ha) in enumerate(handles):
            for b, hb in handles[i + 1:]:
                status = _int(_nvml_call(nvml, "nvmlDeviceGetP2PStatus", ha, hb, read))
                pairs.append({"a": a, "b": b, "status": P2P_STATUS.get(status, "U") if status is not None else None})
        return gpus, pairs, None
    except Exception as exc:  # noqa: BLE001 - a GPU lost while enumerating
        return [], [], f"{type(exc).__name__}: {exc}"
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


# ---------------------------------------------------------------- the rest

def _sysfs_bus_id(bus_id: str | None) -> str | None:
    """NVML's "00000000:00:09.0" as sysfs names it: "0000:00:09.0"."""
    if not bus_id:
        return None
    match = re.fullmatch(r"([0-9A-Fa-f]+):([0-9A-Fa-f]{2}):([0-9A-Fa-f]{2})\.([0-7])", bus_id.strip())
    if not match:
        return None
    return f"{int(match.group(1), 16):04x}:{match.group(2)}:{match.group(3)}.{match.group(4)}".lower()


def _numa(ctx: Context, gpu: dict[str, Any]) -> None:
    slot = _sysfs_bus_id(gpu.get("pci_bus_id"))
    if slot is None:
        return
    folder = Path(ctx.sys_root) / "sys" / "bus" / "pci" / "devices" / slot
    node = (ctx.read_text(folder / "numa_node") or "").strip()
    cpus = (ctx.read_text(folder / "local_cpulist") or "").strip()
    if node.lstrip("-").isdigit():
        gpu["numa_node"] = int(node) if int(node) >= 0 else None  # -1: the platform reports none
    gpu["cpu_affinity"] = cpus or None


def nccl_env(env: dict[str, str] | Any) -> dict[str, str]:
    return {k: v for k, v in sorted(env.items()) if k.startswith(NCCL_PREFIX)}


def driver_present(ctx: Context) -> bool:
    """Whether an NVIDIA driver can be there at all: the kernel module's /proc entry, its control
    device, or WSL's GPU device. Cheap file tests, so a machine without one is answered at once."""
    root = Path(ctx.sys_root)
    return any(p.exists() for p in (Path(ctx.proc_root) / "driver" / "nvidia", root / "dev" / "nvidiactl", root / "dev" / "dxg"))


def _smi_query(ctx: Context, path: str, timeout: float) -> tuple[list[dict[str, Any]], str | None]:
    fields = list(SMI_FIELDS)
    for attempt in range(2):
        result = ctx.run([path, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"], timeout=timeout)
        text = (result.stdout or "") + (result.stderr or "")
        if result.ok and not nvsmi.classify_error(result.stdout):
            return parse_query(result.stdout, fields), None
        if result.timed_out:
            return [], f"nvidia-smi did not answer within {timeout:.0f}s"
        if attempt == 0 and "not a valid field" in text:
            fields = [f.replace("clocks_event_reasons", "clocks_throttle_reasons") for f in fields]
            continue
        return [], result.describe_failure()
    return [], "nvidia-smi refused the health fields"


def collect_gpu_health(ctx: Context, nvml_loader: Callable[[], Any] | None = None) -> dict[str, Any]:
    started = time.monotonic()
    facts: dict[str, Any] = {
        "driver": False, "source": None, "error": None, "gpus": [], "p2p": [],
        "topology": None, "topology_error": None, "nccl_env": nccl_env(ctx.env), "elapsed_s": None,
    }
    if not driver_present(ctx):
        facts["error"] = "no driver: no /proc/driver/nvidia, /dev/nvidiactl or /dev/dxg"
        facts["elapsed_s"] = round(time.monotonic() - started, 4)
        return facts
    facts["driver"] = True
    nvml_error = None
    try:
        if nvml_loader is None:
            from envcheck.facts.nvidia import load_nvml as nvml_loader  # the tests' replacement point
        nvml = nvml_loader()
    except Exception as exc:  # noqa: BLE001
        nvml, nvml_error = None, f"the NVML binding could not be imported ({type(exc).__name__}: {exc})"
    if nvml is not None:
        gpus, pairs, nvml_error = collect_nvml(nvml)
        if nvml_error is None:
            facts.update(source="nvml", gpus=gpus, p2p=pairs)
    smi = ctx.which("nvidia-smi")
    timeout = min(ctx.timeout, SMI_TIMEOUT)
    hung = False
    if facts["source"] is None:
        if smi is None:
            facts["error"] = f"NVML: {nvml_error}; nvidia-smi is not on PATH"
        else:
            gpus, error = _smi_query(ctx, smi, timeout)
            hung = bool(error and "did not answer" in error)
            if gpus:
                facts.update(source="nvidia-smi", gpus=gpus)
            else:
                facts["error"] = f"NVML: {nvml_error}; nvidia-smi: {error}"
    if smi is not None and not hung and facts["gpus"]:
        result = ctx.run([smi, "topo", "-m"], timeout=timeout)
        parsed = parse_topo_matrix(result.stdout) if result.ok else None
        facts["topology"] = parsed
        if parsed is None:
            facts["topology_error"] = result.describe_failure() if not result.ok else "no matrix in `nvidia-smi topo -m`"
        if facts["source"] == "nvidia-smi" and len(facts["gpus"]) > 1 and result.ok:
            # P2P status per pair without NVML: `topo -p2p r` prints the same kind of matrix.
            p2p = ctx.run([smi, "topo", "-p2p", "r"], timeout=timeout)
            matrix = parse_topo_matrix(p2p.stdout) if p2p.ok else None
            if matrix:
                facts["p2p"] = [{"a": p["a"], "b": p["b"], "status": p["link"]} for p in matrix["pairs"]]
    for gpu in facts["gpus"]:
        _numa(ctx, gpu)
    facts["elapsed_s"] = round(time.monotonic() - started, 4)
    return facts


@collector("gpu_health", "GPU health and topology: throttling, ECC, PCIe link, modes, NVLink, P2P, NUMA, NCCL_* (NVML, then nvidia-smi)",
           timeout=COLLECTOR_TIMEOUT)
def collect(ctx: Context) -> dict[str, Any]:
    return collect_gpu_health(ctx)
