"""Parsers for nvidia-smi output: pure functions from text to the "nvidia" facts' shapes.

Used when NVML cannot be loaded in-process. nvidia-smi prints "[N/A]", "[Not Supported]" and
similar bracketed words for values a GPU does not report (utilisation on a MIG-enabled GPU, MIG
mode on a GeForce); those become None, never a guessed number.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from envcheck.i18n import _

# What the collector asks for, in this order, with --format=csv,noheader,nounits.
GPU_FIELDS: tuple[str, ...] = (
    "index", "name", "uuid", "pci.bus_id", "memory.total", "memory.used", "utilization.gpu",
    "temperature.gpu", "compute_cap", "mig.mode.current", "driver_version",
)
APP_FIELDS: tuple[str, ...] = ("gpu_uuid", "pid", "process_name", "used_memory")

# nvidia-smi accepts several names for one property (see `nvidia-smi --help-query-compute-apps`).
_ALIASES = {
    "gpu_bus_id": "pci.bus_id",
    "used_gpu_memory": "used_memory",
    "name": "name",
}

_UNIT_SUFFIX = re.compile(r"\s*\[[^\]]*\]$")  # "memory.total [MiB]" in a header row
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?")

# nvidia-smi's own failure messages, mapped to the same kinds as the NVML error classes.
_SMI_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Driver/library version mismatch", re.I), "lib_rm_version_mismatch"),
    (re.compile(r"couldn't communicate with the NVIDIA driver|Driver Not Loaded", re.I), "driver_not_loaded"),
    (re.compile(r"NVML Shared Library Not Found|couldn't find libnvidia-ml\.so|libnvidia-ml\.so.*(cannot open|not found)", re.I), "library_not_found"),
    (re.compile(r"Insufficient Permissions|No permission", re.I), "no_permission"),
    (re.compile(r"No devices were found", re.I), "no_devices"),
]


# A GPU nvidia-smi cannot reach is reported on a line of its own, the other GPUs still listed:
#   "Unable to determine the device handle for GPU 0000:02:00.0: GPU is lost.  Reboot the system to recover this GPU"
#   "Unable to determine the device handle for GPU0000:07:00.0: Unknown Error"
_HANDLE_ERROR = re.compile(r"Unable to determine the device handle for (?:GPU|gpu)\s*([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-9A-Fa-f]+)\s*:\s*(.*?)\s*$")
# Values nvidia-smi prints in place of a reading when the GPU itself is in trouble; in the name or
# UUID column they mean the row is not a usable GPU.
_GPU_ERROR_MARKERS: dict[str, str] = {
    "[GPU requires reset]": "reset_required",
    "[GPU is lost]": "gpu_is_lost",
    "[Unknown Error]": "unknown",
}


def error_kind(message: str) -> str:
    """The "gpu_errors" kind for nvidia-smi's words about one GPU."""
    text = message.lower()
    if "gpu is lost" in text:
        return "gpu_is_lost"
    if "requires reset" in text or "reset required" in text:
        return "reset_required"
    return "unknown"


def parse_handle_errors(text: str) -> list[dict[str, Any]]:
    """nvidia-smi's "Unable to determine the device handle for GPU <bus id>: <why>" lines."""
    found = []
    for line in (text or "").splitlines():
        match = _HANDLE_ERROR.search(line)
        if match:
            found.append({"index": None, "kind": error_kind(match.group(2)), "message": line.strip(),
                          "call": "nvidia-smi", "uuid": None, "pci_bus_id": match.group(1), "name": None})
    return found


def clean(value: str | None) -> str | None:
    """A field's text, or None for nvidia-smi's 'no value' markers."""
    if value is None:
        return None
    value = value.strip()
    if not value or (value.startswith("[") and value.endswith("]")) or value in ("N/A", "Unknown Error"):
        return None
    return value


def to_int(value: str | None) -> int | None:
    """'81559 MiB' / '100 %' / '52' -> int; '[N/A]' -> None."""
    text = clean(value)
    if text is None:
        return None
    match = _NUMBER.match(text)
    if not match:
        return None
    return int(float(match.group(0)))


def _field_name(header: str) -> str:
    name = _UNIT_SUFFIX.sub("", header.strip())
    return _ALIASES.get(name, name)


def parse_csv(text: str, fields: tuple[str, ...] | list[str] | None = None, raw: bool = False) -> list[dict[str, str | None]]:
    """Rows of a `--query-*` answer as dicts of field -> text (None for N/A; the text as printed
    when raw). nvidia-smi's per-GPU "Unable to determine the device handle" lines are not rows.

    fields: the names asked for when the output has no header (`noheader`); None when the first
    row is the header (plain `--format=csv`), whose "[MiB]"-style unit suffixes are dropped.
    """
    lines = [line for line in text.strip().splitlines() if not _HANDLE_ERROR.search(line)]
    rows = [r for r in csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=True) if r and any(c.strip() for c in r)]
    if not rows:
        return []
    if fields is None:
        names = [_field_name(h) for h in rows[0]]
        rows = rows[1:]
    else:
        names = [_ALIASES.get(f, f) for f in fields]
    # nvidia-smi does not quote its CSV, so a GPU or process name holding a comma spills into
    # extra cells; fold them back into the name rather than shift every later number.
    text_field = next((i for i, n in enumerate(names) if n in ("name", "process_name")), None)
    result = []
    for row in rows:
        extra = len(row) - len(names)
        if extra > 0:
            if text_field is None:
                continue
            row = row[:text_field] + [", ".join(row[text_field:text_field + extra + 1])] + row[text_field + extra + 1:]
        result.append({name: (cell.strip() if raw else clean(cell)) for name, cell in zip(names, row)})
    return result


def gpu_from_row(row: dict[str, str | None]) -> dict[str, Any]:
    """One --query-gpu row as a "gpus" entry of the nvidia facts (processes/MIG filled in later)."""
    return {
        "index": to_int(row.get("index")),
        "name": row.get("name"),
        "uuid": row.get("uuid"),
        "pci_bus_id": row.get("pci.bus_id"),
        "memory_total_mib": to_int(row.get("memory.total")),
        "memory_used_mib": to_int(row.get("memory.used")),
        "utilization_gpu_pct": to_int(row.get("utilization.gpu")),
        "temperature_c": to_int(row.get("temperature.gpu")),
        "compute_capability": row.get("compute_cap"),
        "mig_mode": row.get("mig.mode.current"),
        "mig_devices": [],
        "processes": [],
    }


def parse_gpus(text: str, fields: tuple[str, ...] | list[str] | None = GPU_FIELDS) -> list[dict[str, Any]]:
    return parse_gpus_and_errors(text, fields)[0]


def parse_gpus_and_errors(text: str, fields: tuple[str, ...] | list[str] | None = GPU_FIELDS,
                          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(usable GPUs, "gpu_errors" entries) from a --query-gpu answer: a GPU whose handle could not
    be had, or whose name/UUID reads "[GPU requires reset]" / "[GPU is lost]" / "[Unknown Error]",
    is an error entry rather than a GPU with every value unknown."""
    gpus, errors = [], parse_handle_errors(text)
    for row in parse_csv(text, fields, raw=True):
        gpu = gpu_from_row({name: clean(value) for name, value in row.items()})
        marker = next((row.get(k) for k in ("name", "uuid") if row.get(k) in _GPU_ERROR_MARKERS), None)
        if marker is not None:
            errors.append({"index": gpu["index"], "kind": _GPU_ERROR_MARKERS[marker],
                           "message": _("nvidia-smi shows {marker} for this GPU").format(marker=marker),
                           "call": "nvidia-smi --query-gpu",
                           "uuid": gpu["uuid"], "pci_bus_id": gpu["pci_bus_id"], "name": gpu["name"]})
        elif gpu["index"] is not None:
            gpus.append(gpu)
    return gpus, errors


def parse_driver_version_from_query(text: str, fields: tuple[str, ...] | list[str] | None = GPU_FIELDS) -> str | None:
    for row in parse_csv(text, fields):
        if row.get("driver_version"):
            return row["driver_version"]
    return None


def parse_compute_apps(text: str, fields: tuple[str, ...] | list[str] | None = APP_FIELDS) -> list[dict[str, Any]]:
    """--query-compute-apps rows: [{"gpu_uuid", "pid", "name", "used_memory_mib"}]."""
    apps = []
    for row in parse_csv(text, fields):
        pid = to_int(row.get("pid"))
        if pid is None:
            continue
        apps.append({
            "gpu_uuid": row.get("gpu_uuid"),
            "pid": pid,
            "name": row.get("process_name") or row.get("name"),
            "used_memory_mib": to_int(row.get("used_memory")),
        })
    return apps


_L_GPU = re.compile(r"^GPU (\d+): (.+?) \(UUID: ([^)]+)\)\s*$")
_L_MIG = re.compile(r"^\s+(MIG .+?)\s+Device\s+(\d+): \(UUID: ([^)]+)\)\s*$")


def parse_list(text: str) -> list[dict[str, Any]]:
    """`nvidia-smi -L`: [{"index", "name", "uuid", "mig_devices": [{"uuid", "name"}]}]."""
    gpus: list[dict[str, Any]] = []
    for line in text.splitlines():
        gpu = _L_GPU.match(line)
        if gpu:
            gpus.append({"index": int(gpu.group(1)), "name": gpu.group(2), "uuid": gpu.group(3), "mig_devices": []})
            continue
        mig = _L_MIG.match(line)
        if mig and gpus:
            gpus[-1]["mig_devices"].append({"uuid": mig.group(3), "name": mig.group(1)})
    return gpus


_HEADER_DRIVER = re.compile(r"Driver Version:\s*([0-9][0-9.]*)")
_HEADER_CUDA = re.compile(r"CUDA Version:\s*([0-9][0-9.]*)")


def parse_header(text: str) -> dict[str, str | None]:
    """Driver version and the newest CUDA the driver supports, from the plain `nvidia-smi` table."""
    driver = _HEADER_DRIVER.search(text)
    cuda = _HEADER_CUDA.search(text)
    return {
        "driver_version": driver.group(1) if driver else None,
        "cuda_driver_version": cuda.group(1) if cuda else None,
    }


def classify_error(text: str) -> str | None:
    """The failure kind behind an nvidia-smi error message, or None if it is not one we know."""
    for pattern, kind in _SMI_ERRORS:
        if pattern.search(text or ""):
            return kind
    return None
