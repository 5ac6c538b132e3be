"""Record what NVML answers on this machine, call by call, as JSON (a fixture for a fake pynvml).

    python benchmarks/record_nvml.py --out nvml.json

Every call is guarded: an NVML error becomes {"error": "NVMLError_GpuIsLost: GPU is lost", ...}
for that call only, a function the installed binding lacks becomes {"missing": true}, and a GPU
whose handle cannot be obtained is recorded with that error and no further calls. When envcheck
is importable (PYTHONPATH=<repo>), its own NVML collector's result is recorded too, so a real
GPU checks the collector against the raw answers. Exit status: 0 when nvmlInit worked, 1 when it
failed or pynvml is missing (the JSON still says why).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import traceback
from typing import Any

SYSTEM_CALLS = (
    "nvmlSystemGetDriverVersion",
    "nvmlSystemGetNVMLVersion",
    "nvmlSystemGetCudaDriverVersion_v2",
    "nvmlSystemGetCudaDriverVersion",
    "nvmlDeviceGetCount",
)

# Per GPU, (function, extra argument names resolved on the pynvml module). Serial numbers and
# board part numbers are left out on purpose: the results are meant to be committed.
DEVICE_CALLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("nvmlDeviceGetName", ()),
    ("nvmlDeviceGetUUID", ()),
    ("nvmlDeviceGetMinorNumber", ()),
    ("nvmlDeviceGetPciInfo_v3", ()),
    ("nvmlDeviceGetPciInfo", ()),
    ("nvmlDeviceGetMemoryInfo", ()),
    ("nvmlDeviceGetUtilizationRates", ()),
    ("nvmlDeviceGetTemperature", ("NVML_TEMPERATURE_GPU",)),
    ("nvmlDeviceGetCudaComputeCapability", ()),
    ("nvmlDeviceGetMigMode", ()),
    ("nvmlDeviceGetMaxMigDeviceCount", ()),
    ("nvmlDeviceGetComputeRunningProcesses_v3", ()),
    ("nvmlDeviceGetComputeRunningProcesses_v2", ()),
    ("nvmlDeviceGetComputeRunningProcesses", ()),
    ("nvmlDeviceGetGraphicsRunningProcesses_v3", ()),
    ("nvmlDeviceGetGraphicsRunningProcesses", ()),
    ("nvmlDeviceGetPowerUsage", ()),
    ("nvmlDeviceGetEnforcedPowerLimit", ()),
    ("nvmlDeviceGetPersistenceMode", ()),
    ("nvmlDeviceGetComputeMode", ()),
    ("nvmlDeviceGetPerformanceState", ()),
    ("nvmlDeviceGetCurrPcieLinkGeneration", ()),
    ("nvmlDeviceGetCurrPcieLinkWidth", ()),
    ("nvmlDeviceGetEccMode", ()),
    ("nvmlDeviceGetRetiredPagesPendingStatus", ()),
    ("nvmlDeviceGetRemappedRows", ()),
)


def jsonable(value: Any, depth: int = 0) -> Any:
    """NVML answers (ints, bytes, ctypes structures and arrays, lists of them) as JSON values."""
    if depth > 6:
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, (list, tuple)) or isinstance(value, ctypes.Array):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, ctypes.Structure):
        return {name: jsonable(getattr(value, name, None), depth + 1)
                for name, *_ in getattr(value, "_fields_", []) if not name.startswith("_")}
    if hasattr(value, "value") and isinstance(getattr(value, "value"), (int, float, bytes)):
        return jsonable(value.value, depth + 1)
    if hasattr(value, "__dict__"):  # pynvml's nvmlFriendlyObject and the like
        return {k: jsonable(v, depth + 1) for k, v in vars(value).items() if not k.startswith("_")}
    return repr(value)


def guarded(nvml: Any, name: str, *args: Any) -> dict[str, Any]:
    fn = getattr(nvml, name, None)
    if fn is None:
        return {"missing": True}
    try:
        return {"value": jsonable(fn(*args))}
    except Exception as exc:  # noqa: BLE001 - every failure is a reading, not a crash
        return {"error": f"{type(exc).__name__}: {exc}", "class": type(exc).__name__,
                "code": getattr(exc, "value", None)}


def record(nvml: Any) -> tuple[dict[str, Any], bool]:
    data: dict[str, Any] = {"binding": getattr(nvml, "__file__", None), "init": None, "system": {}, "gpus": []}
    init = guarded(nvml, "nvmlInit")
    data["init"] = init
    if "error" in init or init.get("missing"):
        return data, False
    try:
        for name in SYSTEM_CALLS:
            data["system"][name] = guarded(nvml, name)
        count = data["system"]["nvmlDeviceGetCount"].get("value")
        for index in range(count if isinstance(count, int) else 0):
            entry: dict[str, Any] = {"index": index}
            handle_reading = {}
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
            except Exception as exc:  # noqa: BLE001 - a GPU fallen off the bus answers here
                handle_reading = {"error": f"{type(exc).__name__}: {exc}", "class": type(exc).__name__,
                                  "code": getattr(exc, "value", None)}
                handle = None
            entry["nvmlDeviceGetHandleByIndex"] = handle_reading or {"value": "ok"}
            if handle is not None:
                for name, extra in DEVICE_CALLS:
                    args = [getattr(nvml, a, 0) for a in extra]
                    entry[name] = guarded(nvml, name, handle, *args)
            data["gpus"].append(entry)
    finally:
        data["shutdown"] = guarded(nvml, "nvmlShutdown")
    return data, True


def envcheck_view(nvml: Any) -> dict[str, Any]:
    """envcheck's own NVML collector on the same machine, or why it could not run."""
    try:
        from envcheck.facts.nvidia import collect_nvml
    except Exception as exc:  # noqa: BLE001 - envcheck or one of its dependencies missing
        return {"error": f"envcheck not importable: {type(exc).__name__}: {exc}"}
    try:
        facts, error = collect_nvml(nvml)
        return {"facts": facts, "nvml_error": error}
    except Exception:  # noqa: BLE001 - a crash here is exactly what this records
        return {"error": "collect_nvml raised", "traceback": traceback.format_exc()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    args = parser.parse_args(argv)
    try:
        import pynvml
    except Exception as exc:  # noqa: BLE001 - not installed, or broken at import
        data: dict[str, Any] = {"binding": None, "init": {"error": f"pynvml not importable: {type(exc).__name__}: {exc}"}}
        ok = False
    else:
        data, ok = record(pynvml)
        data["envcheck_collect_nvml"] = envcheck_view(pynvml)
    text = json.dumps(data, indent=2, sort_keys=False, default=repr) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
