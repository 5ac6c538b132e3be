"""Inspect torch from inside the TARGET interpreter and report it as JSON on stdout.

envcheck runs this file as `<target python> probe.py [--skip-device-op] [--no-cuda-context]`. The target may not have
envcheck (or anything but the standard library) installed, so this file imports nothing from
envcheck and nothing outside the standard library except torch and torchvision, each guarded.
It follows the rule of envcheck/target: Python 3.6 syntax, standard library only.

Output protocol, one JSON object per line, each carrying the key "envcheck_probe" so the reader
can pick them out of anything torch itself prints on stdout:
    {"envcheck_probe": 1, "event": "start", "step": NAME}          before each step
    {"envcheck_probe": 1, "event": "done", "step": NAME, "fields": {...}}   after it
    {"envcheck_probe": 1, "event": "result", "result": {...}}      last line: everything
Every line is flushed at once. If torch hangs or kills the process (SIGSEGV while initialising
CUDA happens), the reader still has every finished step's fields, and the last "start" without
a "done" names the step that hung or crashed.
"""

import os
import sys

if __name__ == "__main__":
    # The rule of every script in envcheck/target: python puts the script's own folder first on
    # sys.path, and it is not the target's, so it goes before anything else is imported.
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import json
import traceback
import warnings

MARKER = "envcheck_probe"

# Shared-library names worth reporting from /proc/self/maps: which CUDA runtime, cuBLAS, cuDNN,
# NCCL and driver library the process really loaded (a system toolkit on LD_LIBRARY_PATH can
# shadow the pip-installed ones).
_LIBRARY_KEYS = ("cudart", "cublas", "cudnn", "nccl", "nvjitlink", "libcuda.")

_result = {}


def _emit(event, **payload):
    line = {MARKER: 1, "event": event}
    line.update(payload)
    sys.stdout.write("\n" + json.dumps(line, default=str) + "\n")
    sys.stdout.flush()


def _error_text(exc):
    text = "%s: %s" % (type(exc).__name__, exc)
    return text.strip()[:2000]


def _traceback_tail(exc, lines=6):
    formatted = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(formatted).strip().splitlines()[-lines:]


def _step(name, fn):
    """Run one step; its fields join the result even if it raised half way."""
    _emit("start", step=name)
    fields = {}
    try:
        fn(fields)
    except BaseException as exc:  # noqa: BLE001 - the probe reports, it never dies
        if isinstance(exc, KeyboardInterrupt):
            raise
        fields.setdefault("step_errors", {})
        fields["step_errors"][name] = _error_text(exc)
    errors = fields.pop("step_errors", None)
    if errors:
        _result.setdefault("step_errors", {}).update(errors)
    _result.update(fields)
    _emit("done", step=name, fields=fields, errors=errors)
    return fields


def _python(fields):
    info = sys.version_info
    fields["python"] = {
        "version": "%d.%d.%d" % (info[0], info[1], info[2]),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "platform": sys.platform,
    }
    try:
        import platform

        fields["python"]["machine"] = platform.machine()
    except Exception:  # noqa: BLE001
        pass


def _import_torch(fields):
    fields["torch_import"] = "not_attempted"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import torch  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            fields["torch_import"] = "not_installed"
            fields["import_error"] = None
            return
        fields["torch_import"] = "error"
        fields["import_error"] = _error_text(exc)
        fields["import_traceback"] = _traceback_tail(exc)
        return
    except BaseException as exc:  # noqa: BLE001 - OSError for a missing .so, RuntimeError, SystemExit...
        if isinstance(exc, KeyboardInterrupt):
            raise
        fields["torch_import"] = "error"
        fields["import_error"] = _error_text(exc)
        fields["import_traceback"] = _traceback_tail(exc)
        return
    _record_warnings(caught)
    fields["torch_import"] = "ok"
    fields["import_error"] = None
    version = getattr(torch, "version", None)
    fields["version"] = str(getattr(torch, "__version__", "unknown"))
    fields["file"] = getattr(torch, "__file__", None)
    fields["cuda"] = getattr(version, "cuda", None)
    fields["hip"] = getattr(version, "hip", None)
    fields["git_version"] = getattr(version, "git_version", None)
    fields["debug"] = getattr(version, "debug", None)
    # Two more facts collect_env reports; each guarded, as older torch lacks them.
    try:
        import torch.backends.xnnpack

        fields["xnnpack"] = bool(torch.backends.xnnpack.enabled)
    except Exception:  # noqa: BLE001
        fields["xnnpack"] = None
    try:
        fields["xpu_available"] = bool(torch.xpu.is_available())
    except Exception:  # noqa: BLE001
        fields["xpu_available"] = None


def _cudnn(fields):
    import torch

    fields["cudnn"] = None
    fields["cudnn_available"] = None
    fields["cudnn"] = torch.backends.cudnn.version()
    fields["cudnn_available"] = bool(torch.backends.cudnn.is_available())


def _record_warnings(caught):
    seen = _result.setdefault("warnings", [])
    for w in caught:
        text = "%s: %s" % (getattr(w.category, "__name__", "Warning"), w.message)
        if text not in seen:
            seen.append(text[:2000])


def _cuda_init(fields):
    import torch

    fields["is_available"] = None
    fields["device_count"] = None
    fields["arch_list"] = []
    fields["cuda_init_error"] = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fields["arch_list"] = list(torch.cuda.get_arch_list())
        except Exception as exc:  # noqa: BLE001
            fields["arch_list_error"] = _error_text(exc)
        fields["is_available"] = bool(torch.cuda.is_available())
        fields["device_count"] = int(torch.cuda.device_count())
        if not fields["is_available"] and _result.get("cuda_build"):
            # is_available() only returns False; init() raises with the reason (no driver,
            # driver too old, CUDA_VISIBLE_DEVICES hides every device, ...).
            try:
                torch.cuda.init()
            except Exception as exc:  # noqa: BLE001
                fields["cuda_init_error"] = _error_text(exc)
    _record_warnings(caught)


def _device_info(fields):
    import torch

    devices = []
    fields["devices"] = devices
    if not _result.get("is_available"):
        return
    for index in range(int(_result.get("device_count") or 0)):
        entry = {"index": index}
        devices.append(entry)
        try:
            props = torch.cuda.get_device_properties(index)
            entry["name"] = getattr(props, "name", None)
            entry["capability"] = "%d.%d" % (props.major, props.minor)
            total = getattr(props, "total_memory", None)
            entry["total_memory_mib"] = int(total // (1024 * 1024)) if total else None
            entry["multi_processor_count"] = getattr(props, "multi_processor_count", None)
            uuid = getattr(props, "uuid", None)
            entry["uuid"] = None if uuid is None else _format_uuid(str(uuid))
            for key in ("pci_bus_id", "pci_device_id", "pci_domain_id"):
                value = getattr(props, key, None)
                entry[key] = value if value is None else int(value)
        except Exception as exc:  # noqa: BLE001
            entry["error"] = _error_text(exc)


def _format_uuid(text):
    # torch prints a bare UUID; nvidia-smi and NVML say GPU-<uuid>. Use NVML's spelling so the
    # two can be matched.
    if text.startswith(("GPU-", "MIG-")):
        return text
    return "GPU-" + text


def _device_ops(fields):
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for entry in _result.get("devices") or []:
            index = entry["index"]
            _emit("start", step="device_op:%d" % index)
            entry["op_ok"] = False
            entry["op_error"] = None
            try:
                a = torch.arange(64, dtype=torch.float32).reshape(8, 8) / 64.0
                b = torch.eye(8, dtype=torch.float32) * 2.0 + 0.5
                expected = a @ b
                device = torch.device("cuda", index)
                got = (a.to(device) @ b.to(device)).cpu()
                torch.cuda.synchronize(device)
                if torch.allclose(got, expected, rtol=1e-3, atol=1e-3):
                    entry["op_ok"] = True
                else:
                    entry["op_error"] = "result on cuda:%d differs from the CPU result" % index
            except Exception as exc:  # noqa: BLE001
                entry["op_error"] = _error_text(exc)
    _record_warnings(caught)
    fields["devices"] = _result.get("devices") or []


def _nccl(fields):
    import torch

    fields["nccl"] = None
    if not _result.get("cuda"):
        return
    version = torch.cuda.nccl.version()
    if isinstance(version, tuple):
        version = ".".join(str(part) for part in version)
    fields["nccl"] = str(version)


def _torchvision_ops_library(folder):
    """torchvision's compiled ops library: `_C_stable` (0.2x) or `_C` (older), any extension suffix."""
    import importlib.machinery

    for stem in ("_C_stable", "_C"):
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, stem + suffix)
            if os.path.isfile(path):
                return path
    return None


def _torchvision(fields):
    # torchvision is inspected without `import torchvision`: that import pulls in torch._dynamo
    # and takes over a second (measured 1.2 s of 2.0 s with torchvision 0.29), which would make
    # the doctor slower than collect_env. What the checks need is its version and whether its
    # compiled ops load into this torch - the failure behind "operator torchvision::nms does not
    # exist" - and that is exactly what loading its ops library the way torchvision does
    # (torch.ops.load_library) tells, with the loader's own error message when it fails.
    import importlib.util
    import re

    info = {"version": None, "error": None, "ops_ok": None, "ops_error": None, "file": None}
    fields["torchvision"] = info
    try:
        spec = importlib.util.find_spec("torchvision")
    except Exception as exc:  # noqa: BLE001 - a broken package can raise while being located
        info["error"] = _error_text(exc)
        info["installed"] = True
        return
    if spec is None or not spec.submodule_search_locations:
        info["error"] = "not installed"
        info["installed"] = False
        return
    info["installed"] = True
    folder = list(spec.submodule_search_locations)[0]
    info["file"] = os.path.join(folder, "__init__.py")
    try:
        with open(os.path.join(folder, "version.py")) as handle:
            match = re.search(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", handle.read(), re.MULTILINE)
        info["version"] = match.group(1) if match else None
    except OSError:
        pass
    if info["version"] is None:
        try:
            import importlib.metadata as metadata

            info["version"] = metadata.version("torchvision")
        except Exception:  # noqa: BLE001 - Python < 3.8, or no metadata
            info["version"] = "unknown"
    library = _torchvision_ops_library(folder)
    if library is None:
        info["ops_ok"] = False
        info["ops_error"] = "torchvision has no compiled ops library (_C_stable / _C) in " + folder
        return
    import torch

    try:
        torch.ops.load_library(library)
        # A torchvision built for another torch loads no operators (or fails to load at all).
        torch.ops.torchvision.nms
        info["ops_ok"] = True
    except Exception as exc:  # noqa: BLE001
        info["ops_ok"] = False
        info["ops_error"] = _error_text(exc)


def _loaded_libraries(fields):
    fields["loaded_libraries"] = []
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split(None, 5)
            if len(parts) < 6:
                continue
            path = parts[5].strip()
            lowered = os.path.basename(path).lower()
            if any(key in lowered for key in _LIBRARY_KEYS) and path not in found:
                found.append(path)
    fields["loaded_libraries"] = found


# Set to 1 (or pass --no-cuda-context): report versions, the arch list and the device count only,
# creating no CUDA context on any GPU (no device properties, no tensor op). envcheck smoke-train
# uses it: a GPU not under test may be someone else's, or in Exclusive-Process mode, where a
# second context would fail or make the training child fail.
NO_CONTEXT_ENV = "ENVCHECK_PROBE_NO_CUDA_CONTEXT"


def main(argv):
    no_context = "--no-cuda-context" in argv or os.environ.get(NO_CONTEXT_ENV, "") == "1"
    skip_device_op = "--skip-device-op" in argv or no_context
    _result["probe_version"] = 1
    _result["device_op_skipped"] = skip_device_op
    _result["cuda_context_skipped"] = no_context
    _step("python", _python)
    imported = _step("import_torch", _import_torch)
    if imported.get("torch_import") == "ok":
        _result["cuda_build"] = bool(_result.get("cuda"))
        _step("cudnn", _cudnn)
        _step("cuda_init", _cuda_init)
        if not no_context:
            _step("devices", _device_info)
        if not skip_device_op:
            _step("device_op", _device_ops)
        _step("nccl", _nccl)
        _step("torchvision", _torchvision)
    _step("loaded_libraries", _loaded_libraries)
    _emit("result", result=_result)
    return 0


if __name__ == "__main__":
    # Running a file puts its folder first on sys.path; envcheck's own modules (cli, model,
    # errors...) must not shadow anything torch imports.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        del sys.path[0]
    code = main(sys.argv[1:])
    # Everything is on stdout now. A normal exit would run torch's shutdown (atexit handlers, the
    # teardown of thousands of modules and their native objects): 1.3 s measured with torch 2.14
    # on a CPU-only machine, as long as a third of the probe, spent after the answer. The probe
    # holds no file or state that needs it, so it leaves at once, with the same exit status.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
