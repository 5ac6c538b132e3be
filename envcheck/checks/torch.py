"""The PyTorch area: is torch importable in the target interpreter, is it the right build for this
machine's driver and GPUs, does it really compute on each GPU, and do torchvision and cuDNN fit.

Reads the "torch" facts (envcheck/facts/torch_probe.py), the "nvidia" facts (driver, GPUs,
device nodes) and the "env" facts. Compatibility rules and tables come from envcheck.knowledge,
whose files name their sources; docs/checks-torch.md explains each check.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any, Callable

from envcheck import knowledge
from envcheck.checks import check, fail, ok, skip, warn
from envcheck.checks._commands import pip_install, python_command
from envcheck.checks.network import index_note
from envcheck.core.model import Facts, Finding
from envcheck.core.redact import redact_env_value
from envcheck.facts.visible_devices import parse_visible_devices
from envcheck.knowledge import driver_fit
from envcheck.knowledge.gpu_driver_branches import branch_ceiling

# "python" for the target interpreter: install commands name it (checks/_commands.py), and
# torch's import origin says whether it is a copy shadowing the environment's own.
# "network": the user's pip index settings, which an install command's --index-url overrides.
FACTS = ("torch", "nvidia", "env", "python", "network")

_INDEX_URL = re.compile(r"--index-url\s+(\S+)")


def _mind_the_mirror(fn: Callable[[Facts], Any]) -> Callable[[Facts], Any]:
    """A fix that passes `--index-url URL` bypasses the index the user configured (a mirror in
    pip.conf or PIP_INDEX_URL) for that command: the finding says so, and what to use instead
    (checks/network.py index_note). Applied to every check of this area."""
    @functools.wraps(fn)
    def with_note(facts: Facts) -> Any:
        result = fn(facts)
        for finding in result if isinstance(result, list) else [result] if result is not None else []:
            match = _INDEX_URL.search(finding.fix or "")
            note = index_note(facts, match.group(1)) if match else None
            if note and note not in finding.details:
                finding.details.append(note)
        return result
    return with_note


# ---------------------------------------------------------------- helpers shared by the checks


def decode_cudnn(value: Any) -> str | None:
    """torch.backends.cudnn.version() as text: 92400 -> "9.24.0", 8907 -> "8.9.7"."""
    if not isinstance(value, int) or value <= 0:
        return None
    if value >= 90000:  # cuDNN 9 encodes major*10000 + minor*100 + patch
        return f"{value // 10000}.{value % 10000 // 100}.{value % 100}"
    return f"{value // 1000}.{value % 1000 // 100}.{value % 100}"


def _torch_ok(facts: Facts) -> dict[str, Any] | None:
    data = facts.data("torch")
    return data if data.get("status") == "ok" else None


def _gpus(facts: Facts) -> list[dict[str, Any]]:
    return [g for g in facts.data("nvidia").get("gpus") or [] if isinstance(g, dict)]


def _driver(facts: Facts) -> tuple[str | None, str | None]:
    nvidia = facts.data("nvidia")
    return nvidia.get("driver_version"), nvidia.get("cuda_driver_version")


def _is_cpu_build(torch: dict[str, Any]) -> bool:
    return not torch.get("hip") and (not torch.get("cuda") or "+cpu" in str(torch.get("version") or ""))


def _public_version(version: str | None) -> str | None:
    """'2.14.1+cu130' -> '2.14.1' (the version to pin when switching variant)."""
    return version.split("+", 1)[0] if version else None


def _torchvision_pin(torch_version: str | None) -> str | None:
    exact = knowledge.torchvision_patch_pair(_public_version(torch_version) or "")
    if exact:
        return exact
    minor = knowledge.torchvision_for_torch(torch_version or "")
    return f"{minor}.*" if minor else None


def reinstall_command(facts: Facts, torch_version: str | None, variant: str) -> str:
    """Reinstall the same torch release from another variant's index (with its torchvision),
    with the target interpreter's pip."""
    args = knowledge.install_command(variant, _public_version(torch_version), _torchvision_pin(torch_version))
    return pip_install(facts, "--force-reinstall " + args.removeprefix("pip install "))


def install_command(facts: Facts, variant: str, torch_pin: str | None = None, torchvision_pin: str | None = None) -> str:
    """knowledge.install_command, spelled for the target interpreter."""
    return pip_install(facts, knowledge.install_command(variant, torch_pin, torchvision_pin).removeprefix("pip install "))


def _capabilities(facts: Facts, torch: dict[str, Any] | None = None) -> list[str]:
    """The compute capabilities of the GPUs: from torch's devices, else from NVML."""
    found = [d.get("capability") for d in (torch or {}).get("devices") or [] if d.get("capability")]
    found = found or [g.get("compute_capability") for g in _gpus(facts) if g.get("compute_capability")]
    return sorted(set(found), key=knowledge.version_tuple)


def _python_version(facts: Facts) -> str | None:
    return (facts.data("torch").get("python") or {}).get("version")


def driver_too_old_fix(facts: Facts, torch: dict[str, Any]) -> tuple[str, str | None, list[str]]:
    """(fix, who, details) for a driver too old for the installed wheel's CUDA.

    First what the user can do alone: the same torch release from a variant this driver runs, else
    the newest torch release with a wheel this driver runs on these GPUs (driver_fit). Then the
    driver upgrade, marked as the admin's, and only when the GPUs can take that driver: a Kepler
    GPU stops at R470, so it is never told to upgrade to >= 580 (gpu_driver_branches.yaml).
    """
    driver_version, driver_cuda = _driver(facts)
    version = torch.get("version") or ""
    wheel_cuda = str(torch.get("cuda"))
    ccs = _capabilities(facts, torch)
    fixes: list[str] = []
    details: list[str] = []
    choice = knowledge.best_variant_for_driver(version, driver_cuda, driver_version)
    if choice and ccs and not driver_fit.wheel_covers(version, choice.variant, ccs):
        choice = None  # a variant without kernels for these GPUs trades one failure for another
    if choice:
        fixes.append(reinstall_command(facts, version, choice.variant))
    else:
        fit = driver_fit.newest_wheel_for(driver_cuda, driver_version, ccs, _python_version(facts))
        if fit:
            fixes.append(f"Install the newest torch this driver runs (torch {fit.release}, {fit.variant}): "
                         + pip_install(facts, "--force-reinstall " + fit.pip_args()))
            details.append(f"torch {fit.release} {fit.variant} is the newest release in envcheck's data that "
                           f"{_driver_text(driver_version, driver_cuda)} runs"
                           + (f" with kernels for CC {', '.join(ccs)}" if ccs else "")
                           + (" (through minor-version compatibility)" if fit.support == "minor_compat" else ""))
        else:
            details.append(f"no torch wheel in envcheck's data runs on {_driver_text(driver_version, driver_cuda)}"
                           + (f" with kernels for CC {', '.join(ccs)}" if ccs else "")
                           + (f" for Python {_python_version(facts)}" if _python_version(facts) else ""))
            any_python = driver_fit.newest_wheel_for(driver_cuda, driver_version, ccs) if _python_version(facts) else None
            if any_python:
                low, high = knowledge.python_range(any_python.release) or ("?", "?")
                fixes.append(f"torch {any_python.release} ({any_python.variant}) runs here, but has no wheels for Python "
                             f"{knowledge.minor_of(_python_version(facts))}: create an environment with Python {high} "
                             f"(e.g. conda create -n torch{any_python.release} python={high}) and install it there: "
                             f"python -m pip install {any_python.pip_args()}")
    upgrade = driver_fit.driver_upgrade_for(wheel_cuda, ccs)
    ceiling = upgrade.ceiling
    if ceiling:
        details.append(f"the {ceiling.architecture} GPUs' last driver branch is R{ceiling.branch} "
                       f"(CUDA up to {ceiling.max_cuda}); source: {ceiling.source_url}")
    you = bool(fixes)
    if upgrade.reachable is False:
        have = knowledge.version_tuple(driver_version)
        fixes.append(f"No driver upgrade can run torch's CUDA {wheel_cuda} on these GPUs: the {ceiling.architecture} "
                     f"GPUs' last driver branch is R{ceiling.branch}, which supports CUDA up to {ceiling.max_cuda}"
                     + (f" (the machine's admin can still update within R{ceiling.branch})"
                        if have and have[0] < int(ceiling.branch) else "") + ".")
        dropped = _no_current_wheel(ccs)
        if dropped:
            fixes.append(dropped)
    else:
        needed = f">= {upgrade.needed}" if upgrade.needed else f"a release that supports CUDA {wheel_cuda}"
        within = f", within R{ceiling.branch}, the last branch these GPUs take" if ceiling else ""
        fixes.append(f"{'Or ask' if you else 'Ask'} the machine's admin to upgrade the NVIDIA driver to {needed}"
                     f" (needs root and a reboot{within})")
    who = "you" if you else ("admin" if upgrade.reachable is not False else None)
    return "\n".join(fixes), who, details


def _no_current_wheel(ccs: list[str]) -> str | None:
    """A line saying that the current torch has no kernels for these GPUs, when that is known."""
    dropped = [cc for cc in ccs if driver_fit.current_release_covers(cc) is False]
    if not dropped:
        return None
    latest = knowledge.known_torch_releases()[-1]
    sms = " ".join(f"sm_{cc.replace('.', '')}" for cc in dropped)
    line = f"No current torch wheel supports CC {', '.join(dropped)} (torch {latest} ships no {sms} kernels)"
    older = driver_fit.newest_release_covering(dropped[0])
    if older:
        line += f"; the newest release that still has them is torch {older[0]} ({older[1]})"
    return line + "."


def _torchvision_minor_pin(release: str) -> str | None:
    paired = knowledge.torchvision_for_torch(release)
    return f"{paired}.*" if paired else None


def _driver_text(driver_version: str | None, driver_cuda: str | None) -> str:
    if driver_version and driver_cuda:
        return f"driver {driver_version} (supports CUDA up to {driver_cuda})"
    if driver_version:
        return f"driver {driver_version} (highest CUDA it supports: unknown)"
    return f"the driver (supports CUDA up to {driver_cuda})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# ---------------------------------------------------------------- a torch that shadows the environment's

_SHADOW_WORDS = {"user_site": "the user site-packages (~/.local)", "pythonpath": "a PYTHONPATH folder"}


def shadowing_torch(facts: Facts) -> dict[str, Any] | None:
    """torch's import origin when it is a copy from the user site or PYTHONPATH, which comes
    before the environment's own site-packages (python facts, target.import_origins.torch); None
    otherwise, or when the origin is not reported."""
    target = facts.data("python").get("target")
    origins = target.get("import_origins") if isinstance(target, dict) else None
    origin = origins.get("torch") if isinstance(origins, dict) else None
    if isinstance(origin, dict) and origin.get("origin") in _SHADOW_WORDS:
        return origin
    return None


def _shadow_relation(origin: dict[str, Any]) -> str:
    """Whether the stray copy hides one the environment has, or stands in for a missing one
    (`others` lists the copies import would find further down sys.path)."""
    if origin.get("others"):
        return "which shadows the environment's own torch"
    return "not the environment's own (the environment has no torch installed)"


def defer_to_shadowing(facts: Facts) -> Finding | None:
    """A SKIP that points at python.shadowing, for the checks whose fix would install something to
    match the shadowing copy: installing into the environment does not change which torch is
    imported, and matching the stray copy would entrench it. SKIP, not WARN: python.shadowing
    already fails once for this root cause, and five more warnings would bury it."""
    origin = shadowing_torch(facts)
    if origin is None:
        return None
    where = origin.get("dir") or os.path.dirname(origin.get("file") or "") or "unknown folder"
    version = f" (torch {origin['version']})" if origin.get("version") else ""
    return skip(f"torch here is the copy at {where}{version} from {_SHADOW_WORDS[origin['origin']]}, "
                f"{_shadow_relation(origin)}; fix python.shadowing first, then run the doctor again",
                details=["What this check would advise applies to the stray copy, not to the torch your environment installs."])


# ---------------------------------------------------------------- torch importable?


_HANG_FIX = {
    "import_torch": (
        "Find where the import stalls: {python} -X importtime -c 'import torch' 2>&1 | tail -20\n"
        "(a torch on a slow network filesystem or a half-written install; reinstalling it fixes the latter)"
    ),
    "cuda_init": (
        "Check that `nvidia-smi` answers quickly; if it hangs too, the GPU or driver is stuck and the machine "
        "needs a reboot (or: sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm)"
    ),
    "cudnn": "Check LD_LIBRARY_PATH for another cuDNN: {python} -c 'import torch; print(torch.backends.cudnn.version())'",
    "torchvision": "Reinstall torchvision from the same index as torch: {pip} --force-reinstall torchvision --index-url <torch's index>",
}
_CRASH_FIX = {
    "import_torch": (
        "See where it crashes: {python} -X faulthandler -c 'import torch'\n"
        "(usually a library from LD_LIBRARY_PATH or LD_PRELOAD clashing with torch's own; unset them and retry, "
        "else reinstall: {pip} --force-reinstall torch torchvision)"
    ),
    "cuda_init": (
        "See where it crashes: {python} -X faulthandler -c 'import torch; torch.cuda.init()'\n"
        "(a driver/library version mismatch or a GPU in a bad state: check `nvidia-smi`, then reboot)"
    ),
}


def _install_for_machine(facts: Facts, python_version: str | None) -> tuple[str, str | None]:
    """(fix, who) for a machine without torch: the newest variant the driver runs on these GPUs,
    from the newest release with wheels for this Python; an older release when no variant of it
    fits; the CPU build when there is no driver."""
    releases = knowledge.known_torch_releases()
    release = (knowledge.newest_torch_for_python(python_version) if python_version else None) or releases[-1]
    driver_version, driver_cuda = _driver(facts)
    if not (driver_version or driver_cuda):
        return install_command(facts, "cpu"), "you"
    ccs = _capabilities(facts)
    choice = knowledge.best_variant_for_driver(release, driver_cuda, driver_version)
    if choice and (not ccs or driver_fit.wheel_covers(release, choice.variant, ccs)):
        return install_command(facts, choice.variant), "you"
    fit = driver_fit.newest_wheel_for(driver_cuda, driver_version, ccs, python_version)
    if fit:
        return (f"torch {release} has no wheel that {_driver_text(driver_version, driver_cuda)} runs on these GPUs; "
                f"the newest that does is torch {fit.release} ({fit.variant}): {pip_install(facts, fit.pip_args())}"), "you"
    return (f"No torch wheel in envcheck's data runs on {_driver_text(driver_version, driver_cuda)} with these GPUs: "
            f"ask the machine's admin to upgrade the NVIDIA driver, or install the CPU build: {install_command(facts, 'cpu')}"), "you"


# "/env/lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found (required by /env/.../libtorch_cpu.so)"
_LIBSTDCXX = re.compile(
    r"(?P<lib>(?:/[^\s:'\"`]*)?libstdc\+\+\.so(?:\.\d+)*)\s*:\s*version\s*[`'‘\"]?(?P<symbol>(?:GLIBCXX|CXXABI)_[0-9.]+)[`'’\"]?\s*not found"
    r"(?:\s*\(required by (?P<by>[^)\s]+)\))?")
_SYSTEM_LIB_DIRS = ("/usr/lib", "/lib", "/usr/lib64", "/lib64", "/usr/local/lib")
_CONDA_HINTS = ("conda", "mamba", "miniforge", "/envs/")


def _conda_prefix_of(folder: str, facts: Facts) -> str | None:
    """The conda environment whose lib/ folder this is, or None."""
    if os.path.basename(folder.rstrip("/")) != "lib":
        return None
    prefix = os.path.dirname(folder.rstrip("/"))
    target = facts.data("python").get("target") or {}
    known = [p for p in (target.get("prefix") if target.get("is_conda") else None,
                         target.get("base_prefix") if target.get("base_is_conda") else None,
                         (facts.data("env").get("vars") or {}).get("CONDA_PREFIX")) if p]
    if any(os.path.normpath(prefix) == os.path.normpath(p) for p in known):
        return prefix
    return prefix if any(hint in prefix.lower() for hint in _CONDA_HINTS) else None


def libstdcxx_cause(facts: Facts, error: str) -> tuple[str, str, list[str]] | None:
    """(cause, fix, details) for a GLIBCXX_/CXXABI_ "version not found" import error: an older
    libstdc++ was loaded ahead of the one torch was built against. Which fix depends on where the
    error says that libstdc++ is: a folder on LD_LIBRARY_PATH, a conda environment's lib/, or the
    system's."""
    match = _LIBSTDCXX.search(error or "")
    if not match:
        return None
    lib, symbol, by = match.group("lib"), match.group("symbol"), match.group("by")
    folder = os.path.normpath(os.path.dirname(lib)) if "/" in lib else None  # ".../envs/x/bin/../lib" -> ".../envs/x/lib"
    env = facts.data("env").get("vars") or {}
    entries = [e for e in (env.get("LD_LIBRARY_PATH") or "").split(":") if e]
    target = facts.data("python").get("target") or {}
    target_conda = target.get("prefix") if target.get("is_conda") else None
    details = [f"loaded: {lib}; missing symbol version: {symbol}" + (f"; required by {by}" if by else ""),
               "Each libstdc++ provides the GLIBCXX_/CXXABI_ versions up to the GCC that built it; "
               "the first libstdc++.so.6 the loader finds is used for the whole process."]
    what = f"the libstdc++ loaded ({lib}) is older than torch needs ({symbol} not found)"
    if folder and any(os.path.normpath(e) == os.path.normpath(folder) for e in entries):
        rest = [e for e in entries if os.path.normpath(e) != os.path.normpath(folder)]
        unset = f"export LD_LIBRARY_PATH={':'.join(rest)}" if rest else "unset LD_LIBRARY_PATH"
        fix = (f"Take {folder} off LD_LIBRARY_PATH, which puts its older libstdc++ ahead of the system's: {unset}\n"
               f"(and remove the line that adds it from ~/.bashrc or your job script)")
        conda = _conda_prefix_of(folder, facts)
        if conda:
            fix += f"\nIf you need that folder, update its libstdc++ instead: conda install -p {conda} -c conda-forge libstdcxx-ng"
        return f"{what}: it comes from {folder} on LD_LIBRARY_PATH", fix, details
    conda = _conda_prefix_of(folder, facts) if folder else None
    if conda:
        return (f"{what}: it is the conda environment's own ({conda})",
                f"Update the libstdc++ in that conda environment: conda install -p {conda} -c conda-forge libstdcxx-ng",
                details)
    if folder and folder.startswith(_SYSTEM_LIB_DIRS) and target_conda:
        return (f"{what}: the system's libstdc++ was loaded instead of the newer one in the conda environment {target_conda}",
                f"conda install -p {target_conda} -c conda-forge libstdcxx-ng\n"
                "then put the environment's lib/ first (with the environment active): "
                "export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH",
                details)
    if folder and folder.startswith(_SYSTEM_LIB_DIRS):
        return (f"{what}: the system's libstdc++ is too old for this torch wheel",
                "Use an environment that brings a newer libstdc++: a conda environment with "
                "`conda install -c conda-forge libstdcxx-ng`, then install torch there "
                "(`export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH` if the system's still wins); "
                "or ask the machine's admin for a newer GCC runtime",
                details)
    return (what,
            "Find which libstdc++ is loaded ahead of the system's (`echo $LD_LIBRARY_PATH`, `ldd` on the library named "
            "in the error) and take it off LD_LIBRARY_PATH, or update it (`conda install -c conda-forge libstdcxx-ng` in a conda environment)",
            details)


@check("torch.import", "torch", "torch imports in the target interpreter (probe: import, CUDA init, devices)", facts=FACTS)
@_mind_the_mirror
def torch_import(facts: Facts) -> Finding:
    """The probe result: OK summary `torch 2.14.1+cu130 (CUDA 13.0, cuDNN 9.24.0), 2 GPUs visible`.
    **WARN** when torch is not installed. **FAIL** when the import fails, the probe hangs
    ("importing torch did not finish within 60s"), crashes ("crashed with SIGSEGV while initialising
    CUDA"), or the interpreter cannot run.

    Why: Nothing else about torch can be checked. A hang or crash during CUDA initialisation usually
    points at the driver or the GPU, not at torch.

    Fix: Not installed: `python -m pip install torch torchvision --index-url
    https://download.pytorch.org/whl/<variant>` (with `--python`, that interpreter's full path),
    using the newest variant the driver runs on these GPUs (an older release when no variant of
    the newest fits), or `cpu` when there is no driver. Import error: `GLIBCXX_3.4.30' not found`
    or `CXXABI_...` means an older libstdc++ was loaded ahead of the one torch needs; the fix
    depends on where the error says it is: a folder on `LD_LIBRARY_PATH` (take it off), a conda
    environment's `lib/` (`conda install -p ENV -c conda-forge libstdcxx-ng`), or the system's
    while the target is a conda environment (`libstdcxx-ng` there, then
    `export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH`); reinstalling torch does not help.
    If the error names libcudnn, libcublas, libnvJitLink or an undefined symbol, check
    `LD_LIBRARY_PATH`; otherwise reinstall. Hang: per step (`-X importtime`
    for the import; `nvidia-smi` and reloading nvidia_uvm for CUDA init). Crash: `-X faulthandler`
    to see where, then `LD_LIBRARY_PATH`/`LD_PRELOAD` or a reboot.
    """
    result = facts.get("torch")
    if result is None:
        return skip("the torch probe was not run (--no-torch-probe): torch checks skipped")
    if not result.ok:
        return fail(f"the torch probe did not run: {facts.error('torch')}",
                       fix="Run `envcheck doctor -v --only torch` and report the collector error as an envcheck bug.")
    torch = result.data
    status = torch.get("status")
    python = torch.get("target_python") or (torch.get("python") or {}).get("executable") or "python"
    python_version = (torch.get("python") or {}).get("version")
    if status == "ok":
        cuda, cudnn = torch.get("cuda"), decode_cudnn(torch.get("cudnn"))
        if torch.get("hip"):
            build = f"ROCm {torch['hip']}"
        elif _is_cpu_build(torch):
            build = "CPU-only build"
        else:
            build = f"CUDA {cuda}, cuDNN {cudnn or 'unknown'}"
        count = torch.get("device_count")
        visible = "GPUs visible: unknown" if count is None else f"{_plural(int(count), 'GPU')} visible"
        details = [f"torch at {torch.get('file')}", f"Python {python_version} at {python}"]
        if torch.get("git_version"):
            details.append(f"git version {torch['git_version']}")
        if torch.get("nccl"):
            details.append(f"NCCL {torch['nccl']}")
        details += [f"warning from torch: {w}" for w in torch.get("warnings") or []]
        return ok(f"torch {torch.get('version')} ({build}), {visible}", details=details)
    if status == "not_installed":
        fix, who = _install_for_machine(facts, python_version)
        return warn(f"torch is not installed in {python} (Python {python_version or 'unknown'})",
                       fix=fix, details=["The rest of the doctor still ran; the PyTorch checks need torch installed."]).by(who)
    details = list(torch.get("import_traceback") or []) + [f"stderr: {line}" for line in (torch.get("stderr_tail") or [])[-5:]]
    step = torch.get("step")
    fixes = _CRASH_FIX if status == "crashed" else _HANG_FIX
    template = fixes.get(step or "", fixes.get("cuda_init" if (step or "").startswith("device") else "", ""))
    fix = template.format(python=python, pip=pip_install(facts, "")) or None
    if status == "import_error":
        error = torch.get("error") or "unknown error"
        libstdcxx = libstdcxx_cause(facts, error)
        if libstdcxx:
            cause, fix, extra = libstdcxx
            return fail(f"importing torch fails: {cause}", fix=fix, details=extra + details).by("you")
        if "libcudnn" in error or "libcublas" in error or "libnvJitLink" in error or "undefined symbol" in error:
            fix = ("A CUDA library from elsewhere is shadowing torch's own: check LD_LIBRARY_PATH (unset it and retry), "
                   "then reinstall: " + pip_install(facts, "--force-reinstall torch torchvision"))
        else:
            fix = "Reinstall torch in this environment: " + pip_install(facts, "--force-reinstall torch torchvision")
        return fail(f"importing torch fails: {error}", fix=fix, details=details).by("you")
    if status == "timeout":
        summary = f"the torch probe stopped: {torch.get('error')}"
    elif status == "crashed":
        summary = f"torch {torch.get('error')}"
    elif status == "python_not_runnable":
        summary = f"cannot run the target interpreter: {torch.get('error')}"
        fix = "Pass a working interpreter: envcheck doctor --python ~/miniconda3/envs/NAME/bin/python"
    else:
        summary = f"the torch probe gave no usable answer: {torch.get('error')}"
        fix = fix or "Run the probe by hand to see its output: " + f"{python} -c 'import torch; print(torch.__version__)'"
    return fail(summary, fix=fix, details=details)


@check("torch.python_version", "torch", "the target Python is one torch publishes wheels for (when torch is missing)", facts=FACTS)
@_mind_the_mirror
def torch_python_version(facts: Facts) -> Finding | None:
    """Only when torch is missing: whether the newest torch in the data has wheels for the target
    Python (`python_support.yaml`, `validated` range). **WARN** when only an older torch supports
    it, or when it is older than every release in the data. **FAIL** when it is newer than every
    validated range.

    Why: Outside the range, pip silently installs an old torch, or fails.

    Fix: `conda create -n torch python=<highest supported>`
    """
    torch = facts.data("torch")
    if torch.get("status") != "not_installed":
        return None
    python_version = (torch.get("python") or {}).get("version")
    latest = knowledge.known_torch_releases()[-1]
    bounds = knowledge.python_range(latest)
    if not python_version or not bounds:
        return skip("whether torch supports this Python is unknown (Python version not reported)")
    supported = knowledge.python_supported(latest, python_version)
    if supported:
        return ok(f"Python {python_version} is supported by torch {latest} ({bounds[0]}-{bounds[1]})")
    older = knowledge.newest_torch_for_python(python_version)
    minor = knowledge.minor_of(python_version)
    if older:
        return warn(f"Python {minor} is outside torch {latest}'s range ({bounds[0]}-{bounds[1]}): pip would install torch {older} at best",
                       fix=f"Use Python {bounds[1]} for the newest torch, e.g. conda create -n torch python={bounds[1]}",
                       details=[f"newest torch with wheels for Python {minor}: {older} (from the python_support data)"])
    fix = f"Create an environment with a supported Python, e.g. conda create -n torch python={bounds[1]}"
    details = [f"torch {latest} supports Python {bounds[0]}-{bounds[1]}"]
    oldest = knowledge.known_torch_releases()[0]
    oldest_range = knowledge.python_range(oldest)
    if oldest_range and knowledge.version_tuple(python_version)[:2] < knowledge.version_tuple(oldest_range[0])[:2]:
        # Releases before the data's first one may still have wheels for it: do not claim pip fails.
        return warn(f"Python {minor} is older than any torch release from {oldest} on supports: pip would find an old torch at best",
                       fix=fix, details=details)
    return fail(f"no torch release in envcheck's data has validated wheels for Python {minor}: `pip install torch` will likely fail",
                   fix=fix, details=details)


# ---------------------------------------------------------------- the right build for the machine


@check("torch.cuda_build", "torch", "a CUDA build of torch on a machine with NVIDIA GPUs", facts=FACTS)
@_mind_the_mirror
def torch_cuda_build(facts: Facts) -> Finding | None:
    """A CPU-only wheel (`torch.version.cuda` is None or the version ends in `+cpu`) on a machine where
    NVIDIA GPUs were found.

    Why: Training runs on the CPU without any error.

    Fix: `python -m pip install --force-reinstall torch==<same> torchvision[==paired] --index-url …/cuXYZ`,
    with the newest variant the driver runs that has kernels for the GPUs; when this release has
    none, the newest release that does.
    """
    torch = _torch_ok(facts)
    if torch is None:
        return None
    deferred = defer_to_shadowing(facts)
    if deferred:
        return deferred
    nvidia_result = facts.get("nvidia")
    if nvidia_result is None or not nvidia_result.ok:
        return skip("whether this torch build fits the machine is unknown: the NVIDIA facts were not collected")
    gpus = _gpus(facts)
    version = torch.get("version")
    if torch.get("hip"):
        return None
    if not _is_cpu_build(torch):
        if gpus:
            return ok(f"torch {version} is a CUDA {torch.get('cuda')} build; the machine has {_plural(len(gpus), 'NVIDIA GPU')}")
        return ok(f"torch {version} is a CUDA {torch.get('cuda')} build (no NVIDIA GPU found, so it will run on the CPU)")
    if not gpus:
        return ok(f"torch {version} is a CPU-only build, and no NVIDIA GPU was found")
    driver_version, driver_cuda = _driver(facts)
    choice = knowledge.best_variant_for_driver(version or "", driver_cuda, driver_version)
    ccs = _capabilities(facts)
    if choice and (not ccs or driver_fit.wheel_covers(version or "", choice.variant, ccs)):
        fix, who = reinstall_command(facts, version, choice.variant), "you"
    else:
        fix, who = _install_for_machine(facts, (torch.get("python") or {}).get("version"))
    return fail(f"torch {version} is a CPU-only build, but this machine has {_plural(len(gpus), 'NVIDIA GPU')}: training will run on the CPU",
                   fix=fix,
                   details=[f"torch.version.cuda = {torch.get('cuda')}",
                            "A plain `pip install torch` from some mirrors, or on Windows/macOS, gives the CPU build."]).by(who)


@check("torch.driver", "torch", "the NVIDIA driver is new enough for the CUDA runtime inside the torch wheel", facts=FACTS)
@_mind_the_mirror
def torch_driver(facts: Facts) -> Finding | None:
    """The driver's highest CUDA compared with the wheel's CUDA. Equal or newer: OK.
    Same major, lower minor: **WARN** (minor-version compatibility, limited features), but only if
    the driver meets that major's minimum; otherwise **FAIL**. Wheel major newer: **FAIL**.

    When torch is a copy from the user site or PYTHONPATH that shadows the environment's torch
    (`python.shadowing`), this check and `torch.cuda_build`, `torch.arch`, `torch.torchvision` and
    `torch.cudnn` **SKIP** with "fix python.shadowing first": their advice would fit the stray copy.

    Why: "CUDA driver version is insufficient for CUDA runtime version".

    Fix: First what you can do without root: the same torch from the newest variant this driver
    runs, or else the newest torch release with a wheel this driver runs and with kernels for the
    GPUs (e.g. torch 2.7 cu118 under an R470 driver), as an exact install command for the target
    interpreter. Then the driver upgrade, which needs the machine's admin, and only as far as the
    GPUs' last driver branch (`gpu_driver_branches.yaml`, from NVIDIA's architecture matrix): a
    Tesla K80 (Kepler) stops at R470 (CUDA 11.4), so it is never told to upgrade to >= 580, and
    the fix says when no current torch release still ships kernels for it.
    """
    torch = _torch_ok(facts)
    if torch is None or _is_cpu_build(torch) or torch.get("hip"):
        return None
    driver_version, driver_cuda = _driver(facts)
    if not driver_version and not driver_cuda:
        return None  # no driver: the driver area says so
    deferred = defer_to_shadowing(facts)
    if deferred:
        return deferred
    wheel_cuda = str(torch.get("cuda"))
    version = torch.get("version")
    verdict = knowledge.driver_supports(wheel_cuda, driver_cuda, driver_version)
    have = _driver_text(driver_version, driver_cuda or knowledge.cuda_for_driver(driver_version))
    details = [f"rule: the driver's highest CUDA must be >= the wheel's CUDA, or the same major via minor-version "
               f"compatibility (driver >= {verdict.minor_compat_min or 'unknown'})"]
    if verdict.verdict == "ok":
        return ok(f"{have} runs torch's CUDA {wheel_cuda}", details=details)
    if verdict.verdict == "unknown":
        return skip(f"whether {have} runs torch's CUDA {wheel_cuda} is unknown", details=details)
    if verdict.verdict == "minor_compat":
        fix, who = _minor_compat_fix(facts, torch, verdict.needed_driver)
        return warn(f"{have} runs torch's CUDA {wheel_cuda} only through minor-version compatibility (limited features, e.g. PTX JIT may fail)",
                       fix=fix, details=details).by(who)
    fix, who, extra = driver_too_old_fix(facts, torch)
    return fail(f"{have} is too old for torch {version} (CUDA {wheel_cuda}): expect "
                   "\"CUDA driver version is insufficient for CUDA runtime version\"",
                   fix=fix, details=details + extra).by(who)


def _minor_compat_fix(facts: Facts, torch: dict[str, Any], needed_driver: str | None) -> tuple[str, str | None]:
    """(fix, who) for a wheel the driver runs only through minor-version compatibility: the variant
    this driver fully supports (yours to install), then the driver upgrade (the admin's), unless
    the GPUs cannot take that driver."""
    driver_version, driver_cuda = _driver(facts)
    version = torch.get("version") or ""
    wheel_cuda = str(torch.get("cuda"))
    ccs = _capabilities(facts, torch)
    choice = knowledge.best_variant_for_driver(version, driver_cuda, driver_version)
    full = choice if choice and knowledge.driver_supports(knowledge.variant_cuda(choice.variant), driver_cuda, driver_version).verdict == "ok" \
        and (not ccs or driver_fit.wheel_covers(version, choice.variant, ccs)) else None
    lines = []
    if full:
        lines.append(f"Use the variant this driver fully supports: {reinstall_command(facts, version, full.variant)}")
    upgrade = driver_fit.driver_upgrade_for(wheel_cuda, ccs)
    needed = f">= {needed_driver}" if needed_driver else f"a release that supports CUDA {wheel_cuda}"
    if upgrade.reachable is False:
        ceiling = upgrade.ceiling
        lines.append(f"No driver gives full support here: the {ceiling.architecture} GPUs' last driver branch is "
                     f"R{ceiling.branch} (CUDA up to {ceiling.max_cuda}).")
    else:
        lines.append(f"{'Or ask' if full else 'Ask'} the machine's admin to upgrade the NVIDIA driver to {needed} for full support "
                     "(needs root and a reboot)")
    return "\n".join(lines), ("you" if full else "admin" if upgrade.reachable is not False else None)


def _visible_devices_hide_all(facts: Facts, gpus: list[dict[str, Any]]) -> str | None:
    env = facts.data("env").get("vars") or {}
    if "CUDA_VISIBLE_DEVICES" not in env:
        return None
    raw = env["CUDA_VISIBLE_DEVICES"]
    parsed = parse_visible_devices(raw, gpus)
    if parsed.visible or parsed.visible_mig:
        return None
    return redact_env_value("CUDA_VISIBLE_DEVICES", raw)


@check("torch.cuda_available", "torch", "torch.cuda.is_available() is True where NVML sees GPUs", facts=FACTS)
@_mind_the_mirror
def torch_cuda_available(facts: Facts) -> Finding | None:
    """`torch.cuda.is_available()` is False while NVML sees GPUs, on a CUDA build. Causes in this order:
    (1) driver too old; (2) `CUDA_VISIBLE_DEVICES` hides every GPU (parsed by
    `envcheck/facts/visible_devices.py`); (3) `/dev/nvidia-uvm` missing; (4) the text of the CUDA init
    error.

    Why: The most common "it worked yesterday" report.

    Fix: One fix per cause found, in the same order.
    """
    torch = _torch_ok(facts)
    gpus = _gpus(facts)
    if torch is None or _is_cpu_build(torch) or not gpus:
        return None
    count = torch.get("device_count") or 0
    if torch.get("is_available"):
        summary = f"torch sees {_plural(int(count), 'GPU')} (NVML sees {len(gpus)})"
        return ok(summary)
    causes: list[tuple[str, str, str | None]] = []  # (cause, fix, who can carry out the fix)
    driver_version, driver_cuda = _driver(facts)
    verdict = knowledge.driver_supports(str(torch.get("cuda")), driver_cuda, driver_version)
    if verdict.verdict == "too_old":
        shadow = shadowing_torch(facts)
        if shadow:
            fix, who = (f"torch here is the copy at {shadow.get('dir') or shadow.get('file')}, {_shadow_relation(shadow)}: "
                        "fix python.shadowing first"), "you"
        else:
            fix, who, _ = driver_too_old_fix(facts, torch)
        causes.append((f"the driver is too old for torch's CUDA {torch.get('cuda')}", fix, who))
    hidden = _visible_devices_hide_all(facts, gpus)
    if hidden is not None:
        causes.append((f"CUDA_VISIBLE_DEVICES={hidden!r} hides every GPU", "unset CUDA_VISIBLE_DEVICES", "you"))
    nodes = facts.data("nvidia").get("dev_nodes") or {}
    if nodes.get("/dev/nvidia-uvm") is False:
        causes.append(("/dev/nvidia-uvm is missing (the nvidia_uvm module is not loaded, common after suspend/resume)",
                       "sudo modprobe nvidia_uvm   (if it is loaded but broken: sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm)",
                       "admin"))
    init_error = torch.get("cuda_init_error")
    if init_error:
        causes.append((f"CUDA initialisation said: {init_error}",
                       "If this follows a suspend/resume or a driver update, the machine's admin reboots it (or reloads nvidia_uvm as above)",
                       "admin"))
    details = [f"cause {i}: {text}" for i, (text, _, _) in enumerate(causes, 1)]
    details += [f"warning from torch: {w}" for w in torch.get("warnings") or []]
    if not causes:
        return fail(f"torch.cuda.is_available() is False although NVML sees {_plural(len(gpus), 'GPU')}; the cause is unknown",
                       fix=f"See the error: {python_command(facts)} -c 'import torch; torch.cuda.init()'; a reboot (by the machine's admin) "
                           "fixes a CUDA stack left broken by suspend or a driver update",
                       details=details)
    return fail(f"torch.cuda.is_available() is False although NVML sees {_plural(len(gpus), 'GPU')}: {causes[0][0]}",
                   fix="\n".join(dict.fromkeys(fix for _, fix, _ in causes)), details=details).by(causes[0][2])


# ---------------------------------------------------------------- does it run on these GPUs


def _devices_to_check(facts: Facts, torch: dict[str, Any]) -> list[dict[str, Any]]:
    devices = [d for d in torch.get("devices") or [] if d.get("capability")]
    if devices:
        return [{"label": f"cuda:{d['index']} ({d.get('name') or 'unknown model'})", "capability": d["capability"]} for d in devices]
    return [{"label": f"GPU {g.get('index')} ({g.get('name') or 'unknown model'})", "capability": g["compute_capability"]}
            for g in _gpus(facts) if g.get("compute_capability")]


def _variant_for_capabilities(facts: Facts, version: str, capabilities: list[str]) -> tuple[str, str] | None:
    """(torch release, variant) that has native code for every capability, preferring this torch
    release and variants the driver runs; None when the data knows none."""
    driver_version, driver_cuda = _driver(facts)
    releases = [knowledge.minor_of(version)] + [r for r in reversed(knowledge.known_torch_releases()) if r != knowledge.minor_of(version)]
    for release in releases:
        if not release or knowledge.wheel_variants(release) is None:
            continue
        candidates = None
        for cc in capabilities:
            covering = set(knowledge.variants_covering(release, cc) or [])
            candidates = covering if candidates is None else candidates & covering
        ordered = [v for v in knowledge.wheel_variants(release) if v in (candidates or set())]
        if not ordered:
            continue
        if not (driver_version or driver_cuda):
            return release, ordered[-1]
        verdicts = {v: knowledge.driver_supports(knowledge.variant_cuda(v), driver_cuda, driver_version).verdict for v in ordered}
        full = [v for v in ordered if verdicts[v] == "ok"]
        compat = [v for v in ordered if verdicts[v] in ("minor_compat", "unknown")]
        return release, (full or compat or ordered)[-1]
    return None


@check("torch.arch", "torch", "torch ships kernels for every GPU's compute capability (its arch list)", facts=FACTS)
@_mind_the_mirror
def torch_arch(facts: Facts) -> Finding | None:
    """A visible GPU's compute capability is not covered by `get_arch_list()`. GPUs come
    from the probe, or from NVML when torch sees none. The list comes from the probe, or from
    `arch_lists.yaml` when the probe has none. The rule is torch's: an `sm_XY` cubin runs on the
    same major with minor ≥ Y, except the `DEVICE_REQUIREMENT` cases (8.0 does not run on 8.7, 10.0
    not on 10.1, Jetson codes only on themselves). A `compute_XY` (PTX) entry JIT-compiles for newer
    GPUs, which is OK but noted.

    Why: "no kernel image is available for execution on the device". Example: an RTX 50xx (CC 12.0)
    needs cu128 or newer; Pascal (6.1) is not in cu13x.

    Fix: Reinstall this torch from a variant whose arch list covers the GPU, preferring variants the
    driver fully supports. If no variant of this release covers it, the newest release in the data
    that does.
    """
    torch = _torch_ok(facts)
    if torch is None or torch.get("hip"):
        return None
    devices = _devices_to_check(facts, torch)
    if not devices:
        return None
    deferred = defer_to_shadowing(facts)
    if deferred:
        return deferred
    version = torch.get("version") or ""
    variant = knowledge.variant_of(version)
    arches = list(torch.get("arch_list") or [])
    origin = "torch.cuda.get_arch_list()"
    if not arches and variant:
        arches = knowledge.arch_list(version, variant) or []
        origin = f"envcheck's data for torch {knowledge.minor_of(version)} {variant}"
    if _is_cpu_build(torch):
        return None  # torch.cuda_build reports the CPU build
    if not arches:
        return skip(f"which GPUs torch {version} has kernels for is unknown (no arch list reported or known)")
    details = [f"arch list ({origin}): {' '.join(arches)}"]
    missing, jit = [], []
    for device in devices:
        cc = device["capability"]
        arch = knowledge.architecture_of(cc)
        described = f"{device['label']}, CC {cc}{f' {arch}' if arch else ''}"
        how = knowledge.covers(arches, cc)
        if how is None:
            missing.append((described, cc))
        elif how == "ptx":
            jit.append(described)
    details += [f"{d}: compiled from PTX at first use (slow first start)" for d in jit]
    details += [f"warning from torch: {w}" for w in torch.get("warnings") or [] if "capability" in w or "sm_" in w]
    if not missing:
        return ok(f"torch {version} has kernels for all {_plural(len(devices), 'GPU')} (CC {', '.join(sorted({d['capability'] for d in devices}))})",
                       details=details)
    ccs = sorted({cc for _, cc in missing}, key=knowledge.version_tuple)
    target = _variant_for_capabilities(facts, version, ccs)
    who = "you"
    if target and target[0] == knowledge.minor_of(version):
        fix = reinstall_command(facts, version, target[1])
    elif target:
        fix = f"No {knowledge.minor_of(version)} variant covers CC {', '.join(ccs)}; torch {target[0]} {target[1]} does: " + \
              install_command(facts, target[1], f"{target[0]}.*", _torchvision_minor_pin(target[0]))
    else:
        fix = f"No torch wheel in envcheck's data ships code for CC {', '.join(ccs)}; build torch from source with TORCH_CUDA_ARCH_LIST={';'.join(ccs)}"
        who = None
    if target:
        driver_version, driver_cuda = _driver(facts)
        if (driver_version or driver_cuda) and not driver_fit.driver_runs(target[1], driver_cuda, driver_version):
            fix += (f"\n(that {target[1]} wheel needs a newer driver than {_driver_text(driver_version, driver_cuda)}: "
                    "see torch.driver for what this driver runs)")
    dropped = _no_current_wheel(ccs)
    if dropped:
        details.append(dropped)
    return fail(f"torch {version} has no kernels for {', '.join(d for d, _ in missing)}: expect "
                   "\"no kernel image is available for execution on the device\"",
                   fix=fix, details=details).by(who)


@check("torch.device_op", "torch", "a small matrix multiply on each GPU matches the CPU result", facts=FACTS)
@_mind_the_mirror
def torch_device_op(facts: Facts) -> list[Finding] | Finding | None:
    """A small matmul on each GPU, compared with the CPU result, fails or differs.

    Why: Proves each GPU computes, beyond being enumerated (detectron2's smoke test).

    Fix: `nvidia-smi -q -i <bus id>`, Xid messages in `dmesg`, reset or reboot. For "no kernel
    image", see `torch.arch`.
    """
    torch = _torch_ok(facts)
    if torch is None or torch.get("device_op_skipped"):
        return None
    devices = torch.get("devices") or []
    if not devices:
        return None
    failed = [d for d in devices if not d.get("op_ok")]
    if not failed:
        return ok(f"a matrix multiply on {'each of the ' + str(len(devices)) + ' GPUs' if len(devices) > 1 else 'cuda:0'} matched the CPU result")
    findings = []
    for d in failed:
        error = d.get("op_error") or d.get("error") or "unknown error"
        if "no kernel image" in error:
            fix = "Install a torch variant built for this GPU (see torch.arch)"
        else:
            fix = (f"Check the GPU: nvidia-smi -q -i {d.get('pci_bus_id') or d['index']} (ECC errors, Xid in `sudo dmesg | grep -i xid`); "
                   "reset it or reboot if it is in a bad state")
        findings.append(fail(f"a tensor op on cuda:{d['index']} ({d.get('name') or 'unknown model'}) failed: {error}", fix=fix))
    return findings


# ---------------------------------------------------------------- torchvision and cuDNN


def _variant_index(torch: dict[str, Any]) -> str | None:
    variant = knowledge.variant_of(torch.get("version"))
    return knowledge.index_url(variant) if variant else None


@check("torch.torchvision", "torch", "torchvision is installed, paired with this torch, and its C++ ops load", facts=FACTS)
@_mind_the_mirror
def torch_torchvision(facts: Facts) -> Finding | None:
    """**WARN** when torchvision is not installed. **FAIL** when its minor version is not the one
    paired with torch (`torch_torchvision.yaml`), or its C++ ops are missing ("operator
    torchvision::nms does not exist"). **WARN** when it comes from another CUDA variant index. **OK
    with "unknown"** when the pairing is not in the data (torch 2.14).

    Why: A torchvision built for another torch fails at import time or at the first detection op.
    The probe does not `import torchvision` (that pulls in torch._dynamo and costs over a second);
    it reads `torchvision/version.py` and loads torchvision's compiled ops library
    (`_C_stable`/`_C`) with `torch.ops.load_library`, as torchvision does, so a library built for
    another torch fails with the loader's own error.

    Fix: `pip install torchvision==0.X.* --index-url <torch's variant index>`
    """
    torch = _torch_ok(facts)
    if torch is None:
        return None
    deferred = defer_to_shadowing(facts)
    if deferred:
        return deferred
    version = torch.get("version") or ""
    vision = torch.get("torchvision") or {}
    paired = knowledge.torchvision_for_torch(version)
    pin = _torchvision_pin(version)
    index = _variant_index(torch)
    index_part = f" --index-url {index}" if index else ""
    pinned = f"torchvision{'==' + pin if pin else ''}{index_part}"
    install = pip_install(facts, pinned)
    reinstall = pip_install(facts, f"--force-reinstall {pinned}")
    pairing_text = f"torch {knowledge.minor_of(version)} pairs with torchvision {paired}" if paired else \
        f"the torchvision paired with torch {knowledge.minor_of(version)} is unknown (no source lists it)"
    error = vision.get("error")
    if error == "not installed":
        return warn("torchvision is not installed", fix=install, details=[pairing_text]).by("you")
    if error:
        if "does not exist" in error and "torchvision::" in error:
            summary = f"torchvision is not built for torch {version}: {error}"
        else:
            summary = f"torchvision cannot be inspected: {error}"
        return fail(summary, fix=reinstall, details=[pairing_text]).by("you")
    have = vision.get("version") or "unknown"
    if vision.get("ops_ok") is False:
        return fail(f"torchvision {have} has no compiled ops for torch {version} (\"operator torchvision::nms does not exist\")",
                       fix=reinstall,
                       details=[pairing_text] + ([vision["ops_error"]] if vision.get("ops_error") else [])).by("you")
    if paired and knowledge.minor_of(have) != paired:
        return fail(f"torchvision {have} is not the release paired with torch {version} (needs {paired}.x)",
                       fix=pip_install(facts, f"torchvision=={pin}{index_part}"), details=[pairing_text]).by("you")
    torch_variant, vision_variant = knowledge.variant_of(version), knowledge.variant_of(have)
    if torch_variant and vision_variant and torch_variant != vision_variant:
        return warn(f"torchvision {have} comes from the {vision_variant} index but torch {version} from {torch_variant}",
                       fix=reinstall, details=[pairing_text]).by("you")
    if not paired:
        return ok(f"torchvision {have} is installed and its compiled ops load into this torch; whether it is the release paired with torch {version} is unknown",
                       details=[pairing_text])
    return ok(f"torchvision {have} is paired with torch {version} and its ops load", details=[pairing_text])


@check("torch.cudnn", "torch", "cuDNN loads in a CUDA build of torch", facts=FACTS)
@_mind_the_mirror
def torch_cudnn(facts: Facts) -> Finding | None:
    """A CUDA build whose `torch.backends.cudnn.version()` is None or unavailable. The details list the
    cuDNN files actually loaded and the cuDNN this wheel ships (from the data).

    Why: Every convolution fails.

    Fix: Reinstall the same torch from its index, and check `LD_LIBRARY_PATH`.
    """
    torch = _torch_ok(facts)
    if torch is None or _is_cpu_build(torch) or torch.get("hip"):
        return None
    deferred = defer_to_shadowing(facts)
    if deferred:
        return deferred
    version = torch.get("version") or ""
    variant = knowledge.variant_of(version)
    expected = knowledge.wheel_cudnn(version, variant) if variant else None
    loaded = [lib for lib in torch.get("loaded_libraries") or [] if "cudnn" in lib.lower()]
    details = [f"cuDNN shipped with torch {knowledge.minor_of(version)} {variant}: {expected or 'unknown'}"]
    details += [f"loaded: {lib}" for lib in loaded]
    have = decode_cudnn(torch.get("cudnn"))
    if have is None or torch.get("cudnn_available") is False:
        index = _variant_index(torch)
        fix = ("Reinstall torch so its cuDNN comes with it: "
               + pip_install(facts, f"--force-reinstall torch=={_public_version(version)}" + (f" --index-url {index}" if index else ""))
               + "\nand make sure LD_LIBRARY_PATH does not point at another cuDNN")
        return fail(f"cuDNN cannot be loaded by torch {version} (torch.backends.cudnn.version() is None): "
                       "convolutions will fail", fix=fix, details=details).by("you")
    if expected and knowledge.version_tuple(expected)[:2] != knowledge.version_tuple(have)[:2]:
        details.append("the loaded cuDNN differs from the one this wheel ships: another cuDNN may be shadowing it")
    return ok(f"cuDNN {have} loads", details=details)
