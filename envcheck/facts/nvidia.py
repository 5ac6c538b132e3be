"""The NVIDIA driver and its GPUs: versions, device nodes, each GPU's state and who is using it.

NVML first (in-process, through the official nvidia-ml-py binding, imported as `pynvml`), as
nvitop and gpustat do; nvidia-smi second, when the binding or libnvidia-ml cannot be loaded. Each
nvidia-smi call has a timeout because nvidia-smi can hang in the kernel (D state) on a sick GPU,
and once one call has hung we stop calling it. Every failure is recorded as data so the driver
checks can say which fix applies.

The texts written here that the driver checks show (why nvidia-smi failed, why the binding could not
be imported) are in the run's language (issue #11); whether nvidia-smi hung is also kept as a flag
(smi.hung), so no check reads the words. NVML's and nvidia-smi's own messages stay as they come.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any, Callable

from envcheck.facts import nvsmi
from envcheck.core.context import Context
from envcheck.facts import collector
from envcheck.i18n import N_, _

# Each nvidia-smi call may take this long; with the runner's kill-and-wait that keeps even a hung
# nvidia-smi inside the collector's own limit below.
SMI_TIMEOUT = 8.0
COLLECTOR_TIMEOUT = 15.0

# pynvml exception class name -> the "kind" the checks map to a fix.
_NVML_ERROR_KINDS = {
    "NVMLError_LibraryNotFound": "library_not_found",
    "NVMLError_DriverNotLoaded": "driver_not_loaded",
    "NVMLError_LibRmVersionMismatch": "lib_rm_version_mismatch",
    "NVMLError_NoPermission": "no_permission",
    "NVMLError_FunctionNotFound": "function_not_found",
    # Errors about one GPU rather than the driver: that GPU is reported in "gpu_errors".
    "NVMLError_GpuIsLost": "gpu_is_lost",
    "NVMLError_ResetRequired": "reset_required",
    "NVMLError_IrqIssue": "irq_issue",
    "NVMLError_InsufficientPower": "insufficient_power",
    "NVMLError_CorruptedInforom": "corrupted_inforom",
    "NVMLError_Timeout": "timeout",
}

# Per-GPU error kinds that mean the GPU as a whole is unusable, whichever NVML call raised them;
# other NVML errors on one field (NotSupported, NoPermission, ...) only make that field unknown.
GPU_FATAL_KINDS = frozenset({"gpu_is_lost", "reset_required", "irq_issue", "insufficient_power"})

# Python distributions that install a top-level `pynvml` module; only nvidia-ml-py is NVIDIA's.
_NVML_DISTRIBUTIONS = ("nvidia-ml-py", "pynvml", "nvidia-ml-py3")

_NVRM = re.compile(r"NVRM version:.*?\s(\d+\.\d+(?:\.\d+)?)\s")


def load_nvml() -> Any:
    """The pynvml module. Tests replace this function to hand the collector a fake module."""
    return importlib.import_module("pynvml")


def username_of(pid: int) -> str | None:
    """Owner of a process, or None when it is gone, hidden (another container) or not ours to see."""
    try:
        import psutil

        return psutil.Process(pid).username()
    except Exception:  # noqa: BLE001 - NoSuchProcess, AccessDenied, ZombieProcess, no psutil
        return None


def process_name_of(pid: int) -> str | None:
    try:
        import psutil

        return psutil.Process(pid).name()
    except Exception:  # noqa: BLE001 - as in username_of
        return None


def _error_kind(exc: BaseException) -> str:
    for klass in type(exc).__mro__:
        if klass.__name__ in _NVML_ERROR_KINDS:
            return _NVML_ERROR_KINDS[klass.__name__]
    return "unknown"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _mib(value: Any) -> int | None:
    return int(value) // (1024 * 1024) if isinstance(value, (int, float)) else None


def _try(nvml: Any, name: str, *args: Any, errors: list[BaseException] | None = None) -> Any:
    """Call nvml.<name>(*args); None when the function is missing or answers with an NVML error
    (e.g. utilisation "Not Supported" on a MIG-enabled GPU). The NVML error is appended to
    `errors` when given, so the caller can tell "not supported" from "GPU is lost"."""
    fn = getattr(nvml, name, None)
    if fn is None:
        return None
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - any NVMLError for one field means "unknown"
        if isinstance(exc, getattr(nvml, "NVMLError", ())):
            if errors is not None:
                errors.append(exc)
            return None
        raise


def _first(nvml: Any, names: tuple[str, ...], *args: Any, errors: list[BaseException] | None = None) -> Any:
    """The first versioned variant that exists and answers (_v3 -> _v2 -> v1 for older drivers)."""
    for name in names:
        if getattr(nvml, name, None) is None:
            continue
        value = _try(nvml, name, *args, errors=errors)
        if value is not None:
            return value
    return None


def _cuda_version_text(value: Any) -> str | None:
    # NVML encodes it as 1000 * major + 10 * minor: 13010 -> "13.1".
    if not isinstance(value, int) or value <= 0:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"


def _processes(nvml: Any, handle: Any, errors: list[BaseException] | None = None) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for names in (
        ("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2", "nvmlDeviceGetComputeRunningProcesses"),
        ("nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2", "nvmlDeviceGetGraphicsRunningProcesses"),
    ):
        for proc in _first(nvml, names, handle, errors=errors) or []:
            pid = getattr(proc, "pid", None)
            if not isinstance(pid, int) or pid in seen:
                continue
            seen[pid] = {
                "pid": pid,
                "user": username_of(pid),
                "name": process_name_of(pid),
                "used_memory_mib": _mib(getattr(proc, "usedGpuMemory", None)),
            }
    return list(seen.values())


def _mig_devices(nvml: Any, handle: Any) -> list[dict[str, Any]]:
    count = _try(nvml, "nvmlDeviceGetMaxMigDeviceCount", handle) or 0
    devices = []
    for slot in range(int(count)):
        mig = _try(nvml, "nvmlDeviceGetMigDeviceHandleByIndex", handle, slot)
        if mig is None:
            continue  # an empty slot answers NotFound
        devices.append({"uuid": _text(_try(nvml, "nvmlDeviceGetUUID", mig)), "name": _text(_try(nvml, "nvmlDeviceGetName", mig))})
    return devices


def _gpu_error(index: int, exc: BaseException, call: str, **known: Any) -> dict[str, Any]:
    """A "gpu_errors" entry: the GPU NVML could not read, and why."""
    return {
        "index": index,
        "kind": _error_kind(exc),
        "message": f"{type(exc).__name__}: {exc}",
        "call": call,
        "uuid": known.get("uuid"),
        "pci_bus_id": known.get("pci_bus_id"),
        "name": known.get("name"),
    }


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _gpu_from_nvml(nvml: Any, index: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the GPU's facts, None), or (None, an error entry) when NVML cannot reach that GPU: a GPU
    that fell off the bus fails nvmlDeviceGetHandleByIndex (GpuIsLost, Unknown, ...) while the
    other GPUs still answer, so one sick GPU must not hide the rest."""
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except Exception as exc:  # noqa: BLE001 - NVMLError subclasses; anything else is as fatal for this GPU
        return None, _gpu_error(index, exc, "nvmlDeviceGetHandleByIndex")
    errors: list[BaseException] = []
    memory = _try(nvml, "nvmlDeviceGetMemoryInfo", handle, errors=errors)
    utilization = _try(nvml, "nvmlDeviceGetUtilizationRates", handle, errors=errors)
    pci = _first(nvml, ("nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo"), handle, errors=errors)
    capability = _try(nvml, "nvmlDeviceGetCudaComputeCapability", handle, errors=errors)
    mig_mode = _try(nvml, "nvmlDeviceGetMigMode", handle, errors=errors)
    enabled = getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1)
    temperature = _try(nvml, "nvmlDeviceGetTemperature", handle, getattr(nvml, "NVML_TEMPERATURE_GPU", 0), errors=errors)
    name = _text(_try(nvml, "nvmlDeviceGetName", handle, errors=errors))
    uuid = _text(_try(nvml, "nvmlDeviceGetUUID", handle, errors=errors))
    pci_bus_id = _text(getattr(pci, "busId", None))
    fatal = next((e for e in errors if _error_kind(e) in GPU_FATAL_KINDS), None)
    if fatal is not None:
        # The handle came back but the GPU answers "lost" / "requires reset": no reading is usable.
        # "call" holds an NVML function's name, or these words (translated where shown).
        return None, _gpu_error(index, fatal, N_("reading the GPU"), uuid=uuid, pci_bus_id=pci_bus_id, name=name)
    mig = None
    if isinstance(mig_mode, (list, tuple)) and mig_mode:
        mig = "Enabled" if mig_mode[0] == enabled else "Disabled"
    compute = None
    if isinstance(capability, (list, tuple)) and len(capability) >= 2:
        compute = f"{capability[0]}.{capability[1]}"
    return {
        "index": index,
        "name": name,
        "uuid": uuid,
        "pci_bus_id": pci_bus_id,
        "memory_total_mib": _mib(getattr(memory, "total", None)),
        "memory_used_mib": _mib(getattr(memory, "used", None)),
        "utilization_gpu_pct": _int_or_none(getattr(utilization, "gpu", None)),
        "temperature_c": _int_or_none(temperature),
        "compute_capability": compute,
        "mig_mode": mig,
        "mig_devices": _mig_devices(nvml, handle) if mig == "Enabled" else [],
        "processes": _processes(nvml, handle),
    }, None


def collect_nvml(nvml: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(facts from NVML, None) or ({}, nvml_error)."""
    try:
        nvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError subclasses, or OSError from ctypes
        return {}, {"kind": _error_kind(exc), "message": f"{type(exc).__name__}: {exc}"}
    try:
        cuda = _first(nvml, ("nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"))
        gpus, gpu_errors = [], []
        for i in range(int(nvml.nvmlDeviceGetCount())):
            gpu, error = _gpu_from_nvml(nvml, i)
            if gpu is not None:
                gpus.append(gpu)
            if error is not None:
                gpu_errors.append(error)
        data = {
            "driver_version": _text(_try(nvml, "nvmlSystemGetDriverVersion")),
            "cuda_driver_version": _cuda_version_text(cuda),
            "gpus": gpus,
            "gpu_errors": gpu_errors,
        }
        return data, None
    except Exception as exc:  # noqa: BLE001 - e.g. GPU lost while enumerating
        return {}, {"kind": _error_kind(exc), "message": f"{type(exc).__name__}: {exc}"}
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - nothing useful to do if shutdown fails
            pass


def _provides_pynvml(dist: Any) -> bool:
    """Whether a distribution installs the top-level module `pynvml`: its top_level.txt, else its
    file list (what importlib.metadata.packages_distributions reads, for this one distribution)."""
    declared = (dist.read_text("top_level.txt") or "").split()
    if declared:
        return "pynvml" in declared
    for path in dist.files or []:
        parts = path.parts
        if parts and (parts[0] == "pynvml" if len(parts) > 1 else parts[0] in ("pynvml.py", "pynvml.pyc")):
            return True
    return False


def canonical_name(name: str) -> str:
    """PEP 503 normalised project name, as envcheck.knowledge.versions.canonical_name gives it;
    a copy, because importing the knowledge package (its YAML tables, packaging) here cost
    0.09 s before the collectors after this one could start."""
    return re.sub(r"[-_.]+", "-", name).lower()


_DIST_INFO = re.compile(r"^(?P<name>[^-]+)-[^-]+\.dist-info$")


def _owner_beside(module_file: str | None) -> tuple[str, str] | None:
    """(distribution, version) of the NVML-named distribution installed beside the imported
    module whose RECORD lists that very file; None when there is none (then importlib.metadata
    looks through every folder, as before). Reads a folder listing and two small files, not the
    importlib.metadata machinery: this is the common case, and the one a machine without a
    driver pays for on every report."""
    if not module_file:
        return None
    folder, base = os.path.split(module_file)
    relative = base
    if base.startswith("__init__."):
        folder, package = os.path.split(folder)
        relative = f"{package}/{base}"
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    for entry in sorted(entries):
        match = _DIST_INFO.match(entry)
        if not match or canonical_name(match.group("name")) not in _NVML_DISTRIBUTIONS:
            continue
        info = os.path.join(folder, entry)
        try:
            with open(os.path.join(info, "RECORD"), encoding="utf-8") as handle:
                listed = any(line.split(",", 1)[0] == relative for line in handle)
            if not listed:
                continue
            headers = {}
            with open(os.path.join(info, "METADATA"), encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        break
                    key, sep, value = line.partition(":")
                    if sep and key in ("Name", "Version") and key not in headers:
                        headers[key] = value.strip()
        except OSError:
            continue
        if headers.get("Name") and headers.get("Version"):
            return canonical_name(headers["Name"]), headers["Version"]
    return None


def _nvml_owners() -> list[Any]:
    """The installed distributions named like an NVML binding that install `pynvml`.

    Looked up by name (importlib.metadata.distributions(name=...)), not through
    packages_distributions(), which reads the file list of every installed distribution: 0.35 to
    0.7 s with torch's seventy, the slowest step of the collector on a machine without a GPU."""
    import sys
    from importlib import metadata

    found = []
    for name in _NVML_DISTRIBUTIONS:
        for dist in metadata.distributions(name=name):
            try:
                if _provides_pynvml(dist):
                    found.append(dist)
            except Exception:  # noqa: BLE001 - one broken metadata folder hides only itself
                continue

    def path_rank(dist: Any) -> int:
        try:
            where = str(dist.locate_file(""))
        except Exception:  # noqa: BLE001
            return len(sys.path)
        return next((i for i, entry in enumerate(sys.path) if entry and str(Path(entry)) == str(Path(where))), len(sys.path))

    return sorted(found, key=path_rank)


def _binding_facts(nvml: Any) -> dict[str, Any]:
    """Which `pynvml` envcheck imported: the official binding, or a look-alike shadowing it."""
    module_file = getattr(nvml, "__file__", None)
    distribution = version = None
    try:
        beside = _owner_beside(module_file)
        for dist in [] if beside else _nvml_owners():
            distribution, version = canonical_name(dist.metadata["Name"]), dist.version
            # Several can be installed; the one whose files include the imported module wins.
            files = dist.files or []
            if module_file and any(str(f.locate()) == str(module_file) for f in files):
                break
        if beside:
            distribution, version = beside
    except Exception:  # noqa: BLE001 - broken metadata must not hide the GPU facts
        pass
    return {
        "module_file": module_file,
        "has_nvmlInitWithFlags": hasattr(nvml, "nvmlInitWithFlags"),
        "has_nvmlGetFunctionPointer": hasattr(nvml, "_nvmlGetFunctionPointer"),
        "distribution": distribution,
        "version": version,
    }


def _smi_failure(result: Any, timeout: float) -> str:
    if result.timed_out:
        return _("nvidia-smi did not answer within {seconds}s (it can hang when a GPU or the driver is stuck)").format(
            seconds=f"{timeout:.0f}")
    if result.error:
        return _("nvidia-smi could not run: {error}").format(error=result.error)
    text = (result.stdout + "\n" + result.stderr).strip()
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        return _("nvidia-smi exited with {status}").format(status=result.returncode)
    # first: nvidia-smi's own words, as it printed them.
    return _("nvidia-smi exited with {status}: {output}").format(status=result.returncode, output=first.rstrip(": "))


def collect_smi(ctx: Context, path: str) -> tuple[dict[str, Any], str | None, bool]:
    """GPU facts from nvidia-smi: ({...}, None, False) or (partial facts, why it failed, whether a
    call did not answer in time)."""
    timeout = min(ctx.timeout, SMI_TIMEOUT)
    hung = False

    def run(argv: list[str]) -> tuple[str | None, str | None]:
        nonlocal hung
        result = ctx.run([path, *argv], timeout=timeout)
        hung = hung or result.timed_out
        # nvidia-smi prints its NVML failure on stdout and may still exit 0 on some versions, so
        # the text decides, not only the exit status.
        if result.ok and not nvsmi.classify_error(result.stdout):
            return result.stdout, None
        return None, _smi_failure(result, timeout)

    query = ctx.run([path, f"--query-gpu={','.join(nvsmi.GPU_FIELDS)}", "--format=csv,noheader,nounits"], timeout=timeout)
    hung = query.timed_out
    answered = not (query.timed_out or query.error or nvsmi.classify_error(query.stdout))
    gpu_text = query.stdout if answered else ""
    gpus, gpu_errors = nvsmi.parse_gpus_and_errors(gpu_text)
    # A GPU that fell off the bus makes nvidia-smi exit non-zero while still listing the others.
    gpu_errors += [e for e in nvsmi.parse_handle_errors(query.stderr)
                   if e["pci_bus_id"] not in {g["pci_bus_id"] for g in gpu_errors}]
    if not (query.ok and answered) and not gpus and not gpu_errors:
        return {}, _smi_failure(query, timeout), hung
    data: dict[str, Any] = {
        "driver_version": nvsmi.parse_driver_version_from_query(gpu_text),
        "cuda_driver_version": None,
        "gpus": gpus,
        "gpu_errors": gpu_errors,
    }
    errors = [] if query.ok else [_smi_failure(query, timeout)]
    for argv, apply in (
        ([], "header"),
        ([f"--query-compute-apps={','.join(nvsmi.APP_FIELDS)}", "--format=csv,noheader,nounits"], "apps"),
        (["-L"], "list"),
    ):
        text, error = run(argv)
        if text is None:
            errors.append(error)
            if hung:
                break  # a hung nvidia-smi will hang again; do not spend the collector's time on it
            continue
        if apply == "header":
            data["cuda_driver_version"] = nvsmi.parse_header(text)["cuda_driver_version"]
            data["driver_version"] = data["driver_version"] or nvsmi.parse_header(text)["driver_version"]
        elif apply == "apps":
            by_uuid = {g["uuid"]: g for g in gpus if g.get("uuid")}
            for app in nvsmi.parse_compute_apps(text):
                gpu = by_uuid.get(app["gpu_uuid"])
                if gpu is not None:
                    gpu["processes"].append({
                        "pid": app["pid"], "user": username_of(app["pid"]),
                        "name": app["name"], "used_memory_mib": app["used_memory_mib"],
                    })
        else:
            listed = {g["uuid"]: g for g in nvsmi.parse_list(text)}
            for gpu in gpus:
                gpu["mig_devices"] = listed.get(gpu.get("uuid"), {}).get("mig_devices", [])
    return data, ("; ".join(e for e in errors if e) or None), hung


def _dev_nodes(ctx: Context) -> dict[str, bool]:
    dev = Path(ctx.sys_root) / "dev"
    nodes = {"/dev/nvidiactl": (dev / "nvidiactl").exists(), "/dev/nvidia-uvm": (dev / "nvidia-uvm").exists()}
    numbered = sorted(
        (p.name for p in dev.glob("nvidia[0-9]*") if p.name[len("nvidia"):].isdigit()),
        key=lambda n: int(n[len("nvidia"):]),
    ) if dev.is_dir() else []
    nodes["/dev/nvidia0"] = (dev / "nvidia0").exists()
    for name in numbered:
        nodes[f"/dev/{name}"] = True
    return nodes


# Where distributions and the NVIDIA container toolkit put the userspace NVML library.
_LIB_DIRS = ("usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu", "usr/lib64", "usr/lib", "lib/x86_64-linux-gnu")
_LIB_VERSION = re.compile(r"^libnvidia-ml\.so\.(\d+\.\d+(?:\.\d+)?)$")


def _library_versions(ctx: Context) -> list[str]:
    """Versions of the installed libnvidia-ml.so.<version> files: the userspace driver, which
    can differ from the loaded kernel module after an upgrade without a reboot."""
    found = set()
    for sub in _LIB_DIRS:
        folder = Path(ctx.sys_root) / sub
        if not folder.is_dir():
            continue
        for path in folder.glob("libnvidia-ml.so.*"):
            match = _LIB_VERSION.match(path.name)
            if match:
                found.add(match.group(1))
    return sorted(found)


def _pci_gpus(ctx: Context) -> list[dict[str, str]]:
    """NVIDIA display/3D controllers on the PCI bus, found even when no driver is loaded."""
    root = Path(ctx.sys_root) / "sys" / "bus" / "pci" / "devices"
    found = []
    if not root.is_dir():
        return found
    for device in sorted(root.iterdir()):
        vendor = (ctx.read_text(device / "vendor") or "").strip().lower()
        klass = (ctx.read_text(device / "class") or "").strip().lower()
        # 0x10de is NVIDIA's PCI vendor id; class 0x03xxxx is a display controller (VGA or 3D).
        if vendor == "0x10de" and klass.startswith("0x03"):
            found.append({"slot": device.name, "device": (ctx.read_text(device / "device") or "").strip() or None})
    return found


def collect_nvidia(ctx: Context, nvml_loader: Callable[[], Any] | None = None) -> dict[str, Any]:
    loader = nvml_loader or load_nvml
    proc_dir = Path(ctx.proc_root) / "driver" / "nvidia"
    version_text = ctx.read_text(proc_dir / "version") or ""
    kernel = _NVRM.search(version_text)
    facts: dict[str, Any] = {
        "source": None,
        "driver_version": None,
        "cuda_driver_version": None,
        "kernel_module_version": kernel.group(1) if kernel else None,
        "proc_driver_present": proc_dir.exists(),
        "dev_nodes": _dev_nodes(ctx),
        "library_versions": _library_versions(ctx),
        "pci_gpus": _pci_gpus(ctx),
        "nvml_error": None,
        "smi": {"path": ctx.which("nvidia-smi"), "error": None},
        "pynvml": {"module_file": None, "has_nvmlInitWithFlags": False, "has_nvmlGetFunctionPointer": False,
                   "distribution": None, "version": None},
        "gpus": [],
        # GPUs the driver counts but that could not be read (fallen off the bus, need a reset):
        # [{"index", "kind", "message", "call", "uuid", "pci_bus_id", "name"}].
        "gpu_errors": [],
    }
    try:
        nvml = loader()
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken binding failing at import
        nvml = None
        facts["nvml_error"] = {
            "kind": "unknown",
            "message": _("the NVML Python binding could not be imported ({error}); install it with {command}").format(
                error=f"{type(exc).__name__}: {exc}", command="`pip install nvidia-ml-py`"),
        }
    if nvml is not None:
        facts["pynvml"] = _binding_facts(nvml)
        data, error = collect_nvml(nvml)
        if error is None:
            facts.update(data, source="nvml")
            return facts
        facts["nvml_error"] = error

    path = facts["smi"]["path"]
    if path is None:
        facts["smi"]["error"] = _("nvidia-smi is not on PATH")
        return facts
    data, error, hung = collect_smi(ctx, path)
    facts["smi"]["error"] = error
    if hung:
        facts["smi"]["hung"] = True
    if data:
        facts.update(data, source="nvidia-smi")
    return facts


@collector("nvidia", "NVIDIA driver, NVML and GPUs (NVML, falling back to nvidia-smi)", timeout=COLLECTOR_TIMEOUT)
def collect(ctx: Context) -> dict[str, Any]:
    return collect_nvidia(ctx)
