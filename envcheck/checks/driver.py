"""NVIDIA driver and GPU checks: is a driver there and healthy, and is each GPU free to use.

Every check reads the "nvidia" facts (envcheck/facts/nvidia.py). The fixes for NVML failures
follow what nvitop and gpustat tell their users (XuehaiPan/nvitop nvitop/api/libnvml.py,
wookayin/gpustat gpustat/nvml.py).

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through
_() or ngettext(), the descriptions and the table texts are marked with N_(); commands, versions,
error kinds and check ids are placeholders. Raw error texts of NVML and nvidia-smi are shown as
they come.
"""

from __future__ import annotations

from typing import Any

import shlex

from envcheck.checks import check, fail, ok, skip, warn
from envcheck.checks._commands import pip_command
from envcheck.checks.cuda import select_gpus
from envcheck.core.model import Facts, Finding, Status
from envcheck.core.settings import SETTINGS
from envcheck.core.settings import value as setting
from envcheck.i18n import N_, _, current_language, join, ngettext

# The hot and busy thresholds are settings (envcheck/core/settings.py: gpu_hot_c, gpu_busy_memory_fraction).

RELOAD_MODULES = "sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia"
# The binding fix, spelled for an interpreter by reinstall_binding(); `pip` here is only the docs' shorthand.
REINSTALL_BINDING = "pip uninstall -y nvidia-ml-py3 pynvml && pip install --force-reinstall nvidia-ml-py"


def own_pip(facts: Facts) -> str:
    """`/path/python -m pip` for the interpreter envcheck runs in (python facts: running.executable)."""
    executable = (facts.data("python").get("running") or {}).get("executable")
    return f"{shlex.quote(executable)} -m pip" if executable else "python -m pip"


def reinstall_binding(facts: Facts, own: bool = False) -> str:
    """REINSTALL_BINDING for the target interpreter (checks/_commands.py), or with own=True for the
    interpreter envcheck itself runs in (its NVML binding is envcheck's, not the target's)."""
    if own:
        pip = own_pip(facts)
        return f"{pip} uninstall -y nvidia-ml-py3 pynvml && {pip} install --force-reinstall nvidia-ml-py"
    return f"{pip_command(facts, 'uninstall')} -y nvidia-ml-py3 pynvml && {pip_command(facts)} --force-reinstall nvidia-ml-py"
CUDA_VERSION_MEANING = N_(
    "\"CUDA Version\" in nvidia-smi is the newest CUDA this driver supports, not an installed toolkit: "
    "the toolkit (nvcc) and PyTorch's own CUDA are separate values, shown in the CUDA and PyTorch sections."
)


def _nvidia(facts: Facts) -> dict[str, Any]:
    return facts.data("nvidia")


def has_nvidia_hardware_or_driver(data: dict[str, Any]) -> bool:
    """Any sign of NVIDIA on this machine: a GPU on the PCI bus, a loaded module, device nodes,
    the userspace library or nvidia-smi."""
    return bool(
        data.get("pci_gpus")
        or data.get("proc_driver_present")
        or any((data.get("dev_nodes") or {}).values())
        or data.get("library_versions")
        or (data.get("smi") or {}).get("path")
    )


# When envcheck's NVML and nvidia-smi disagree, the more specific cause wins: "library not found"
# only says that one process did not get as far as the driver, while nvidia-smi's "Driver/library
# version mismatch" names what is wrong, and its fix is a reboot (or reloading the module), not a
# reinstall. Most specific first.
KIND_RANK = ("smi_hung", "lib_rm_version_mismatch", "driver_not_loaded", "no_permission",
             "function_not_found", "no_devices", "library_not_found")


def failure_kinds(data: dict[str, Any]) -> list[str]:
    """Every cause the facts show for a driver that did not answer, most specific first: NVML's
    error kind, nvidia-smi's, and a loaded kernel module whose version no installed
    libnvidia-ml.so has (the mismatch, even when NVML never got that far)."""
    found: list[str] = []
    smi_error = (data.get("smi") or {}).get("error") or ""
    # "hung": set by the collector, whatever the language of its text; the words: facts from before it.
    if (data.get("smi") or {}).get("hung") or "did not answer" in smi_error:
        found.append("smi_hung")
    nvml_kind = (data.get("nvml_error") or {}).get("kind")
    if nvml_kind and nvml_kind != "unknown":
        found.append(nvml_kind)
    from envcheck.facts.nvsmi import classify_error

    smi_kind = classify_error(smi_error)
    if smi_kind:
        found.append(smi_kind)
    kernel, libraries = data.get("kernel_module_version"), data.get("library_versions") or []
    if kernel and libraries and kernel not in libraries:
        found.append("lib_rm_version_mismatch")
    ranked = sorted(set(found), key=lambda k: KIND_RANK.index(k) if k in KIND_RANK else len(KIND_RANK))
    return ranked


def failure_kind(data: dict[str, Any]) -> str | None:
    """Why no GPU list came back: the most specific error kind of NVML, nvidia-smi and the
    module/library versions (see KIND_RANK), or None when it worked."""
    if data.get("source"):
        return None
    kinds = failure_kinds(data)
    return kinds[0] if kinds else ((data.get("nvml_error") or {}).get("kind") or "unknown")


# Who can carry out each failure's fix: the driver, its kernel modules, device permissions and a
# stuck GPU are the machine's admin's; the Python binding is yours.
FAILURE_WHO = {"library_not_found": "admin", "driver_not_loaded": "admin", "lib_rm_version_mismatch": "admin",
               "no_permission": "admin", "function_not_found": "you", "smi_hung": "admin", "no_devices": "admin"}


# Summary, fix and extra details of each failure kind, translated where shown (_failure()). The
# fixes' placeholders: {pip} (envcheck's own pip), {command} (RELOAD_MODULES), {modprobe}.
_FAILURES: dict[str, tuple[str, str, list[str]]] = {
    "library_not_found": (
        N_("the NVIDIA driver's NVML library (libnvidia-ml.so.1) was not found, so no GPU can be used"),
        N_("On a host: install the NVIDIA driver (e.g. `sudo ubuntu-drivers install`, then reboot).\n"
           "In a container: start it with the GPUs passed in, e.g. `docker run --gpus all ...` "
           "(needs the NVIDIA Container Toolkit on the host)."),
        [N_("A GPU is present on the PCI bus, so this is a missing driver (or a container without --gpus), "
            "not a CPU-only machine.")],
    ),
    "driver_not_loaded": (
        N_("the NVIDIA kernel module is not loaded (NVML: Driver Not Loaded)"),
        N_("{modprobe}\n"
           "If that fails, check `dmesg | grep -i nvidia` (Secure Boot can block an unsigned module) or reboot."),
        [],
    ),
    "lib_rm_version_mismatch": (
        N_("the NVIDIA driver was upgraded but the old kernel module is still loaded (Driver/library version mismatch)"),
        N_("The machine's admin reboots it, or reloads the modules with nothing using the GPU:\n{command}\n"
           "(reinstalling the driver, CUDA or torch does not help: the new driver is installed, the old module is "
           "still running)"),
        [N_("This often follows an unattended-upgrades driver update; CUDA fails until the module matches the library.")],
    ),
    "no_permission": (
        N_("NVML was refused access to the GPUs (Insufficient Permissions)"),
        N_("Check `ls -l /dev/nvidia*`: your user needs read/write access (often membership of the `video` group: "
           "`sudo usermod -aG video $USER`, then log in again); in a container, pass the devices in with --gpus."),
        [],
    ),
    "function_not_found": (
        N_("the NVML Python binding (nvidia-ml-py) asks the driver for a function it does not have"),
        N_("{pip} --upgrade nvidia-ml-py\n"
           "(If the driver is very old, the machine's admin upgrading the driver also fixes it.)"),
        [N_("nvitop's documentation gives this cause: nvidia-ml-py not compatible with the installed driver version.")],
    ),
    "smi_hung": (
        N_("nvidia-smi did not answer: a GPU or the driver is stuck"),
        N_("Look for GPU errors with `sudo dmesg | grep -i -E 'NVRM|Xid'`; a stuck GPU usually needs a reboot "
           "(or `sudo nvidia-smi -r -i <index>` when nothing uses it)."),
        [N_("nvidia-smi can hang in the kernel (D state) when a GPU has fallen off the bus or hit an Xid error.")],
    ),
    "no_devices": (
        N_("the NVIDIA driver is loaded but reports no GPU"),
        N_("Check `lspci | grep -i nvidia` and `sudo dmesg | grep -i -E 'NVRM|Xid'`; in a container, start it "
           "with `--gpus all`."),
        [],
    ),
}


def _failure(kind: str, pip: str = "python -m pip install") -> tuple[str, str, list[str]]:
    """The summary, fix and extra details of a failure kind, in the current language."""
    summary, fix, extra = _FAILURES[kind]
    return (_(summary), _(fix).format(pip=pip, command=RELOAD_MODULES, modprobe="sudo modprobe nvidia"),
            [_(line) for line in extra])


@check("driver.nvml", "driver", N_("An NVIDIA driver answers, and what it supports"), facts=("nvidia", "python"))
def driver_found(facts: Facts) -> Finding:
    r"""Asks the NVIDIA driver through NVML (nvidia-ml-py), or nvidia-smi when NVML cannot be used,
    for its version, the newest CUDA it supports and its GPUs. **OK** with those; **SKIP** on a machine
    with no NVIDIA GPU on the PCI bus, no kernel module, no device nodes and no library (a CPU-only
    machine is not a failure); **FAIL** with the NVML error kind, when nvidia-smi hangs, or when the
    driver is loaded but shows no GPU. The details explain that nvidia-smi's "CUDA Version" is the
    driver's maximum, not an installed toolkit.

    When envcheck's NVML and nvidia-smi report different errors, the more specific one is the
    cause: nvidia-smi's "Failed to initialize NVML: Driver/library version mismatch" (or a loaded
    kernel module whose version no installed libnvidia-ml.so has) outranks NVML's "library not
    found", so the fix is a reboot or a module reload, not a reinstall. The other errors stay in
    the details.

    Why: Nothing on the GPU works without a driver that answers, and each NVML error has its own
    cause: a missing library, an unloaded module, a driver upgraded without a reboot.

    Fix: One per error kind; all but the Python binding need the machine's admin (the finding's
    `who`):

    | NVML error | cause | fix |
    |---|---|---|
    | `library_not_found` | libnvidia-ml.so.1 missing: no driver, or a container started without GPUs | install the driver; `docker run --gpus all ...` |
    | `driver_not_loaded` | the kernel module is not loaded | `sudo modprobe nvidia`; check `dmesg` (Secure Boot), reboot |
    | `lib_rm_version_mismatch` | driver upgraded without a reboot (often unattended-upgrades) | reboot, or `sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia`; not a reinstall |
    | `no_permission` | no access to `/dev/nvidia*` | `ls -l /dev/nvidia*`, the `video` group, `--gpus` in containers |
    | `function_not_found` | nvidia-ml-py does not match the driver | `python -m pip install --upgrade nvidia-ml-py` (envcheck's interpreter) |
    | nvidia-smi hung | a GPU or the driver is stuck | `sudo dmesg \| grep -i -E 'NVRM\|Xid'`, reboot or `nvidia-smi -r` |
    | no devices | driver loaded, zero GPUs | `lspci`, `dmesg`, `--gpus all` |
    """
    data = _nvidia(facts)
    if not data:
        return fail(_("the NVIDIA facts could not be collected: {error}").format(error=facts.error("nvidia") or _("unknown")),
                    fix=_("Run {command} to see why, and report it as an envcheck bug.").format(
                        command="`envcheck doctor -v --only driver`"))
    gpus = data.get("gpus") or []
    if data.get("source"):
        driver = data.get("driver_version") or _("unknown")
        cuda = data.get("cuda_driver_version") or _("unknown")
        models = sorted({g.get("name") or _("unknown model") for g in gpus})
        details = [
            _("driver {version} (read via {source})").format(version=driver, source=data["source"]),
            _("newest CUDA the driver supports: {version}").format(version=cuda),
            _(CUDA_VERSION_MEANING),
        ]
        if models:
            details.append(_("models: {models}").format(models=join(models)))
        if data.get("source") == "nvidia-smi" and data.get("nvml_error"):
            details.append(_("NVML in envcheck's own process failed ({error}); nvidia-smi was used instead.").format(
                error=data["nvml_error"].get("message")))
        if (data.get("smi") or {}).get("error"):
            details.append(_("some nvidia-smi queries failed: {error}").format(error=data["smi"]["error"]))
        count = len(gpus)
        broken = data.get("gpu_errors") or []
        if broken:
            details.append(_("GPUs the driver counts but that could not be read: {gpus}; see their {check} findings").format(
                gpus=join(f"{_gpu_error_target(e)[1]} ({e.get('message')})" for e in broken), check="driver.gpu.N"))
        if count == 0 and broken:
            return fail(ngettext("the NVIDIA driver {version} is loaded but none of its {count} GPU can be read "
                                 "(see the findings for each GPU below)",
                                 "the NVIDIA driver {version} is loaded but none of its {count} GPUs can be read "
                                 "(see the findings for each GPU below)", len(broken)).format(
                                     version=driver, count=len(broken)),
                        fix=_gpu_error_fix(_gpu_error_target(broken[0])[2]), details=details).by("admin")
        if count == 0:
            kind = "no_devices"
            summary, fix, extra = _failure(kind)
            return fail(summary, fix=fix, details=details + extra).by(FAILURE_WHO[kind])
        if broken:
            summary = _("NVIDIA driver {version} (supports CUDA up to {cuda}), {count} of {total} GPUs readable").format(
                version=driver, cuda=cuda, count=count, total=count + len(broken))
        else:
            summary = ngettext("NVIDIA driver {version} (supports CUDA up to {cuda}), {count} GPU",
                               "NVIDIA driver {version} (supports CUDA up to {cuda}), {count} GPUs", count).format(
                                   version=driver, cuda=cuda, count=count)
        return ok(summary, details=details)

    if not has_nvidia_hardware_or_driver(data):
        return skip(_("no NVIDIA driver; GPU checks skipped"),
                    details=[_("No NVIDIA GPU on the PCI bus, no nvidia kernel module, no nvidia-smi: this looks like a "
                               "machine without NVIDIA GPUs. If it should have one, check {command}.").format(
                                   command="`lspci | grep -i nvidia`")])
    kind = failure_kind(data)
    details = _failure_details(data)
    others = [k for k in failure_kinds(data) if k != kind]
    if others:
        details.append(_("also reported: {kinds}; {kind} is the more specific cause, so its fix comes first").format(
            kinds=join(others), kind=kind))
    if kind in _FAILURES:
        # envcheck's own NVML binding asked the driver for the function: envcheck's interpreter.
        summary, fix, extra = _failure(kind, pip=own_pip(facts) + " install")
        if kind == "library_not_found" and not data.get("pci_gpus"):
            extra = []
        return fail(summary, fix=fix, details=extra + details).by(FAILURE_WHO.get(kind))
    return fail(_("there are signs of an NVIDIA GPU or driver, but neither NVML nor nvidia-smi could list the GPUs"),
                fix=_("Run {command} and read its error; if the driver is missing, the machine's admin installs it "
                      "and reboots.").format(command="`nvidia-smi`"),
                details=details)


def _failure_details(data: dict[str, Any]) -> list[str]:
    lines = []
    if data.get("nvml_error"):
        lines.append(f"NVML: {data['nvml_error'].get('message')}")
    smi = data.get("smi") or {}
    if smi.get("error"):
        lines.append(f"nvidia-smi: {smi['error']}" + (f" ({smi['path']})" if smi.get("path") else ""))
    elif smi.get("path"):
        lines.append(_("nvidia-smi: ok ({path})").format(path=smi["path"]))
    else:
        lines.append(_("nvidia-smi: ok"))
    version = data.get("kernel_module_version")
    if not data.get("proc_driver_present"):
        lines.append((_("kernel module loaded ({path}): no, version {version}") if version else
                      _("kernel module loaded ({path}): no")).format(path="/proc/driver/nvidia", version=version))
    elif version:
        lines.append(_("kernel module loaded ({path}): yes, version {version}").format(path="/proc/driver/nvidia",
                                                                                       version=version))
    else:
        lines.append(_("kernel module loaded ({path}): yes").format(path="/proc/driver/nvidia"))
    if data.get("library_versions"):
        lines.append(_("userspace libnvidia-ml.so versions installed: {versions}").format(
            versions=join(data["library_versions"])))
    if data.get("pci_gpus"):
        lines.append(_("NVIDIA GPUs on the PCI bus: {count} ({slots})").format(
            count=len(data["pci_gpus"]), slots=join(g["slot"] for g in data["pci_gpus"])))
    return lines


@check("driver.kernel_module", "driver", N_("The loaded kernel module matches the userspace driver"), facts=("nvidia",))
def kernel_module(facts: Facts) -> Finding | None:
    """Compares the `NVRM version` in `/proc/driver/nvidia/version` (the loaded kernel module) with
    NVML's driver version, or with the installed `libnvidia-ml.so.<version>` when NVML itself fails
    with the mismatch. **FAIL** when they differ, **OK** when equal, **SKIP** when the userspace
    version is unknown; nothing when no module is loaded.

    Why: After a driver upgrade without a reboot the old module stays loaded and every CUDA program
    fails with "Driver/library version mismatch".

    Fix: Reboot, or `sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia`
    (the machine's admin; every GPU process must be stopped first).
    """
    data = _nvidia(facts)
    kernel = data.get("kernel_module_version")
    if not data or not kernel:
        return None  # no module loaded: driver.nvml already says so
    userspace = data.get("driver_version")
    libraries = data.get("library_versions") or []
    if userspace is None and len(libraries) == 1:
        userspace = libraries[0]
    if userspace is None:
        return skip(_("kernel module {version} is loaded; the userspace driver version is unknown, so they could not be "
                      "compared").format(version=kernel))
    others = [v for v in libraries if v != kernel]
    if userspace != kernel or others:
        mismatched = userspace if userspace != kernel else others[0]
        return fail(_("kernel module {version} is loaded but the userspace driver is {userspace}: CUDA and NVML fail "
                      "until they match").format(version=kernel, userspace=mismatched),
                    fix=_("The machine's admin reboots it, or reloads the modules with nothing using the GPU:\n"
                          "{command}").format(command=RELOAD_MODULES),
                    details=[_("This usually means the driver package was upgraded without a reboot."),
                             f"/proc/driver/nvidia/version: {kernel}; libnvidia-ml.so: {join(libraries) or _('not found')}"]
                    ).by("admin")
    return ok(_("kernel module and userspace driver are the same version ({version})").format(version=kernel))


@check("driver.uvm", "driver", N_("/dev/nvidia-uvm exists (CUDA cannot start without it)"), facts=("nvidia",))
def uvm_device(facts: Facts) -> Finding | None:
    """Whether `/dev/nvidia-uvm` exists, when the driver is loaded (`/dev/nvidiactl` or
    `/proc/driver/nvidia`). **WARN** when it is missing: a warning, not a failure, because a setuid
    nvidia-modprobe lets the first CUDA program create it.

    Why: Without it CUDA fails with "CUDA unknown error"; common after a suspend/resume.

    Fix: `sudo modprobe nvidia-uvm` or `sudo nvidia-modprobe -u -c=0`.
    """
    data = _nvidia(facts)
    nodes = data.get("dev_nodes") or {}
    # Only meaningful where the driver's control node or /proc entry shows the module is loaded.
    if not data or not (nodes.get("/dev/nvidiactl") or data.get("proc_driver_present")):
        return None
    if nodes.get("/dev/nvidia-uvm"):
        return ok(_("{path} is present").format(path="/dev/nvidia-uvm"))
    return warn(
        _("the NVIDIA driver is loaded but {path} is missing: CUDA programs fail to initialise "
          "(\"CUDA unknown error\") unless it can be created").format(path="/dev/nvidia-uvm"),
        fix=_("{command}\nor: {other}").format(command="sudo modprobe nvidia-uvm", other="sudo nvidia-modprobe -u -c=0"),
        details=[_("Common after suspend/resume; reloading nvidia_uvm fixes it "
                   "(pytorch/pytorch#88639, ultralytics/ultralytics#7716)."),
                 _("The first CUDA program can create the node itself only when the setuid nvidia-modprobe helper is "
                   "installed.")],
    ).by("admin")


def _normalise(name: str) -> str:
    return "".join("-" if c in "-_." else c for c in name.lower())


@check("driver.nvml_binding", "driver", N_("The NVML Python binding is NVIDIA's nvidia-ml-py, not a shadowing copy"),
       facts=("nvidia", "python"))
def nvml_binding(facts: Facts) -> Finding | None:
    """Whether the NVML binding is NVIDIA's `nvidia-ml-py`. **WARN** when the target environment has the
    `pynvml` or `nvidia-ml-py3` distribution (older releases ship their own `pynvml.py`), or when the
    `pynvml` envcheck imported lacks `nvmlInitWithFlags` (gpustat#107). Reads the target's installed
    distributions (names normalised as PEP 503 does).

    Why: An old copy shadows NVIDIA's binding and fails on newer drivers (missing functions, wrong
    structures), which breaks GPU monitors and this doctor.

    Fix: `python -m pip uninstall -y nvidia-ml-py3 pynvml && python -m pip install --force-reinstall nvidia-ml-py`,
    with the interpreter that has the look-alike: the target's (its full path under `--python`), or
    envcheck's own when only the binding envcheck imported is old.
    """
    data = _nvidia(facts)
    binding = data.get("pynvml") or {}
    target = (facts.data("python").get("target") or {})
    installed = {_normalise(k): v for k, v in (target.get("distributions") or {}).items()}
    shadowing = [name for name in ("pynvml", "nvidia-ml-py3") if name in installed]
    problems = []
    if shadowing:
        problems.append(_("the target environment has {packages}: (older releases of) these ship their own pynvml.py "
                          "that can shadow NVIDIA's nvidia-ml-py").format(
                              packages=join(f"{n} {installed[n]}" for n in shadowing)))
    if binding.get("module_file") and not binding.get("has_nvmlInitWithFlags"):
        problems.append(_("the pynvml module envcheck imported ({file}) has no nvmlInitWithFlags, so it is not NVIDIA's "
                          "current binding").format(file=binding["module_file"]))
    if problems:
        # A look-alike in the target environment is fixed there; one only in envcheck's own
        # environment (the pynvml envcheck imported) is fixed with envcheck's interpreter.
        fix = reinstall_binding(facts, own=not shadowing)
        return warn(_("a look-alike NVML binding may shadow nvidia-ml-py (gpustat, nvitop and "
                      "PyTorch's GPU memory tools can then fail)"), fix=fix, details=problems).by("you")
    if not binding.get("module_file") and not installed.get("nvidia-ml-py"):
        return None  # no binding anywhere: nothing can be shadowed
    if not has_nvidia_hardware_or_driver(data):
        return None  # envcheck's own dependency is not news on a machine without NVIDIA GPUs
    version = binding.get("version") or installed.get("nvidia-ml-py")
    if version:
        return ok(_("NVML binding is NVIDIA's nvidia-ml-py ({version})").format(version=version))
    return ok(_("NVML binding is NVIDIA's nvidia-ml-py (unknown version)"))


def _gib(mib: int | None) -> str:
    return "?" if mib is None else f"{mib / 1024:.1f} GiB"


def _sep(semicolon: bool = False) -> str:
    """Between the parts of a GPU line (", ") or between two clauses ("; "), as the language writes it."""
    if current_language() == "zh":
        return "；" if semicolon else "，"
    return "; " if semicolon else ", "


def _process_text(proc: dict[str, Any]) -> str:
    user, pid = proc.get("user"), proc.get("pid")
    if proc.get("used_memory_mib") is not None:
        memory = _gib(proc["used_memory_mib"])
        if user:
            return _("{user} pid {pid} {memory}").format(user=user, pid=pid, memory=memory)
        return _("unknown user pid {pid} {memory}").format(pid=pid, memory=memory)
    if user:
        return _("{user} pid {pid}").format(user=user, pid=pid)
    return _("unknown user pid {pid}").format(pid=pid)


def gpu_line(gpu: dict[str, Any]) -> str:
    """'GPU 0: NVIDIA H100 80GB HBM3, 19.4/79.6 GiB used, util 100%, 59 C, sm 9.0, MIG off'."""
    parts = [_("GPU {index}: {name}").format(index=gpu.get("index"), name=gpu.get("name") or _("unknown model"))]
    parts.append(_("{used} of {total} used").format(used=_gib(gpu.get("memory_used_mib")),
                                                    total=_gib(gpu.get("memory_total_mib")))
                 if gpu.get("memory_total_mib") is not None else _("memory unknown"))
    util = gpu.get("utilization_gpu_pct")
    parts.append(_("util {percent}%").format(percent=util) if util is not None else _("util unknown"))
    temp = gpu.get("temperature_c")
    parts.append(_("{degrees} C").format(degrees=temp) if temp is not None else _("temperature unknown"))
    capability = gpu.get("compute_capability")
    parts.append(_("compute capability {version}").format(version=capability) if capability
                 else _("compute capability unknown"))
    mig = gpu.get("mig_mode")
    parts.append({"Enabled": _("MIG on"), "Disabled": _("MIG off")}.get(mig or "", _("MIG n/a")))
    return _sep().join(parts)


def is_busy(gpu: dict[str, Any], me: str | None, memory_fraction: float = SETTINGS["gpu_busy_memory_fraction"].default) -> bool:
    """Another user's process is on it, or more than `memory_fraction` of its memory is taken."""
    others = [p for p in gpu.get("processes") or [] if p.get("user") and me and p["user"] != me]
    used, total = gpu.get("memory_used_mib"), gpu.get("memory_total_mib")
    crowded = used is not None and bool(total) and used > memory_fraction * total
    return bool(others) or crowded


# What NVML's per-GPU errors mean, in words (pynvml's own texts are terse: "GPU is lost"); {gpu} is
# "GPU 1" or "the GPU at PCI 0000:...".
_GPU_ERROR_WORDS = {
    "gpu_is_lost": N_("{gpu} is lost: it has fallen off the bus (NVML: GPU is lost)"),
    "reset_required": N_("{gpu} needs a reset before it can be used again (NVML: GPU requires reset)"),
    "irq_issue": N_("{gpu} has an interrupt (IRQ) problem, so the driver cannot talk to it"),
    "insufficient_power": N_("{gpu} is not getting enough external power (check its power cables)"),
}


def _gpu_error_fix(target: Any) -> str:
    """target: what `nvidia-smi -i` takes: the GPU's index, or its PCI bus id when the index is unknown."""
    return _("Only the machine's admin can recover it: reboot the machine (a GPU that fell off the bus "
             "rarely comes back otherwise; {reset} can reset it when no process uses it).\n"
             "To see why: {query} and {dmesg} (Xid 79 means the GPU has fallen off the bus).").format(
                 reset=f"`sudo nvidia-smi -r -i {target}`", query=f"`nvidia-smi -q -i {target}`",
                 dmesg="`sudo dmesg | grep -i -E 'NVRM|Xid'`")


def _gpu_error_target(error: dict[str, Any]) -> tuple[str, str, str]:
    """(finding id suffix, how the summary names the GPU, what `nvidia-smi -i` takes)."""
    index = error.get("index")
    if isinstance(index, int):
        return str(index), f"GPU {index}", str(index)
    bus = error.get("pci_bus_id") or "unknown"
    return f"pci-{bus}", _("the GPU at PCI {bus}").format(bus=bus), bus


def gpu_error_finding(error: dict[str, Any], healthy: list[dict[str, Any]], env: dict[str, str],
                      errors: list[dict[str, Any]]) -> Finding:
    """FAIL for a GPU the driver counts but that NVML (or nvidia-smi) could not read."""
    suffix, label, target = _gpu_error_target(error)
    words = _GPU_ERROR_WORDS.get(error.get("kind") or "")
    summary = (_(words).format(gpu=label) if words else
               _("{gpu} could not be read ({error})").format(gpu=label, error=error.get("message")))
    fix = _gpu_error_fix(target)
    if healthy:
        fix += "\n" + _("Meanwhile run on a healthy GPU, named so that CUDA stays away from this one: {command}").format(
            command=f"{select_gpus([g.get('index') for g in healthy[:1]], healthy, env, errors)} python train.py")
    message = f"{error.get('message')}"
    # The call is an NVML function or an nvidia-smi command; the collector's "reading the GPU" is translated.
    details = [_("{error} (from {call})").format(error=message, call=_(error["call"])) if error.get("call") else message]
    known = join(f"{k} {error[k]}" for k in ("name", "pci_bus_id", "uuid") if error.get(k))
    if known:
        details.append(_("last known: {values}").format(values=known))
    details.append(_("A lost GPU can make CUDA fail to start or number the other GPUs differently from nvidia-smi; "
                     "selecting GPUs by UUID ({command}) avoids both.").format(command="`nvidia-smi -L`"))
    return Finding(f"driver.gpu.{suffix}", Status.FAIL, summary, fix=fix, details=details).by("admin")


@check("driver.gpus", "driver", N_("Each GPU: memory, load, temperature, and who is using it"), facts=("nvidia", "env"))
def gpus(facts: Facts) -> list[Finding] | None:
    """One finding per GPU (`driver.gpu.<N>`): name, memory used/total, utilisation, temperature,
    compute capability and MIG mode. **WARN** "GPU N is busy" when another user's process is on it
    (compared with `$USER`) or more than half its memory is used (setting `gpu_busy_memory_fraction`),
    and at 85 C or more (setting `gpu_hot_c`). **FAIL** for a GPU NVML or nvidia-smi cannot read:
    "GPU 1 is lost: it has fallen off the bus", "needs a reset".
    A GPU in MIG mode lists its MIG devices (`driver.mig.<N>`). A GPU known only by its PCI bus id gets
    the id `driver.gpu.pci-<bus id>`.

    Why: On a shared server the GPU you pick may already be full; a lost GPU fails every program that
    touches it, and the other GPUs still work.

    Fix: Busy: pick a free GPU, `CUDA_VISIBLE_DEVICES=<free> python train.py`. On a machine with several
    GPU models the suggestion adds `CUDA_DEVICE_ORDER=PCI_BUS_ID` (CUDA's default order can give index
    N to another GPU), and uses GPU UUIDs when a GPU could not be read. Lost: the machine's admin
    reboots it (or `sudo nvidia-smi -r -i N` when no process uses it); diagnose with
    `nvidia-smi -q -i N` and `sudo dmesg | grep -i -E 'NVRM|Xid'` (Xid 79: fallen off the bus);
    meanwhile select the healthy GPUs by UUID. MIG: select one MIG device by its MIG UUID.
    """
    data = _nvidia(facts)
    gpu_list = data.get("gpus") or []
    errors = data.get("gpu_errors") or []
    if not gpu_list and not errors:
        return None
    env = facts.data("env").get("vars") or {}
    me = env.get("USER")
    busy = {g.get("index") for g in gpu_list if is_busy(g, me, setting(facts, "gpu_busy_memory_fraction"))}
    free = [g.get("index") for g in gpu_list if g.get("index") not in busy]
    findings = []
    # Report order follows the GPU index, broken GPUs included; those known only by PCI bus id last.
    order = {}
    for error in errors:
        finding = gpu_error_finding(error, gpu_list, env, errors)
        index = error.get("index")
        order[finding.id] = index if isinstance(index, int) else 1 << 30
        findings.append(finding)
    for gpu in gpu_list:
        index = gpu.get("index")
        procs = gpu.get("processes") or []
        details = [gpu_line(gpu)]
        if gpu.get("pci_bus_id"):
            details.append(_("PCI bus id {bus}, UUID {uuid}").format(bus=gpu["pci_bus_id"], uuid=gpu.get("uuid") or _("unknown")))
        details += [_("process: {process} ({name})").format(process=_process_text(p), name=p.get("name") or _("name unknown"))
                    for p in procs]
        problems = []
        fix = None
        if index in busy:
            who = join(_process_text(p) for p in procs) if procs else _("no process listed")
            problems.append(ngettext("GPU {index} is busy: {count} process ({processes})",
                                     "GPU {index} is busy: {count} processes ({processes})", len(procs)).format(
                                         index=index, count=len(procs), processes=who))
            if free:
                fix = _("pick a free GPU: {command}").format(
                    command=f"{select_gpus([free[0]], gpu_list, env, errors)} python train.py")
            else:
                fix = _("every GPU is busy: wait, or ask the owners of the processes above (see {command})").format(
                    command="`nvidia-smi`")
        temp = gpu.get("temperature_c")
        if temp is not None and temp >= setting(facts, "gpu_hot_c"):
            problems.append(_("GPU {index} is hot ({degrees} C, warning threshold {threshold} C, setting {setting})").format(
                index=index, degrees=temp, threshold=setting(facts, "gpu_hot_c"), setting="gpu_hot_c"))
            fix = (fix + "\n" if fix else "") + _("check the fans and airflow ({command} shows thermal slowdown)").format(
                command="`nvidia-smi -q -d TEMPERATURE,PERFORMANCE`")
        if problems:
            findings.append(Finding(f"driver.gpu.{index}", Status.WARN, _sep(semicolon=True).join(problems), fix=fix,
                                    details=details).by("you" if index in busy else "admin"))
        else:
            if not procs:
                state = _("free")
            elif me and all(p.get("user") == me for p in procs):
                state = ngettext("{count} process of yours", "{count} processes of yours", len(procs)).format(count=len(procs))
            else:
                state = ngettext("{count} process ({processes})", "{count} processes ({processes})", len(procs)).format(
                    count=len(procs), processes=join(_process_text(p) for p in procs))
            findings.append(Finding(f"driver.gpu.{index}", Status.OK, _("{gpu}: {state}").format(gpu=gpu_line(gpu), state=state),
                                    details=details))
        if gpu.get("mig_mode") == "Enabled":
            migs = gpu.get("mig_devices") or []
            findings.append(Finding(
                f"driver.mig.{index}", Status.OK,
                ngettext("GPU {index} is in MIG mode with {count} MIG device: select one by its MIG UUID ({value}), "
                         "not by the GPU index",
                         "GPU {index} is in MIG mode with {count} MIG devices: select one by its MIG UUID ({value}), "
                         "not by the GPU index", len(migs)).format(
                             index=index, count=len(migs), value="CUDA_VISIBLE_DEVICES=MIG-..."),
                fix=None,
                details=[f"{m.get('name') or _('MIG device')}: {m.get('uuid')}" for m in migs]
                or [_("no MIG device was listed; create one with {command} (see {profiles})").format(
                    command="`sudo nvidia-smi mig -cgi <profile> -C`", profiles="`nvidia-smi mig -lgip`")],
            ))
    # sorted() is stable: a GPU's own finding stays before its MIG listing.
    return sorted(findings, key=lambda f: order.get(f.id, _index_of(f.id)))


def _index_of(finding_id: str) -> int:
    tail = finding_id.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 1 << 30
