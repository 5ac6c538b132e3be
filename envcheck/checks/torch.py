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
from envcheck.facts.torch_probe import error_text
from envcheck.facts.visible_devices import parse_visible_devices
from envcheck.i18n import N_, _, join, ngettext
from envcheck.knowledge import driver_fit

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
        driver = _driver_text(driver_version, driver_cuda)
        if fit:
            fixes.append(_("Install the newest torch this driver runs (torch {release}, {variant}): {command}").format(
                release=fit.release, variant=fit.variant,
                command=pip_install(facts, "--force-reinstall " + fit.pip_args())))
            minor_compat = fit.support == "minor_compat"
            if ccs and minor_compat:
                text = _("torch {release} {variant} is the newest release in envcheck's data that {driver} runs "
                         "with kernels for CC {capabilities} (through minor-version compatibility)")
            elif ccs:
                text = _("torch {release} {variant} is the newest release in envcheck's data that {driver} runs "
                         "with kernels for CC {capabilities}")
            elif minor_compat:
                text = _("torch {release} {variant} is the newest release in envcheck's data that {driver} runs "
                         "(through minor-version compatibility)")
            else:
                text = _("torch {release} {variant} is the newest release in envcheck's data that {driver} runs")
            details.append(text.format(release=fit.release, variant=fit.variant, driver=driver,
                                       capabilities=", ".join(ccs)))
        else:
            python_version = _python_version(facts)
            if ccs and python_version:
                text = _("no torch wheel in envcheck's data runs on {driver} with kernels for CC {capabilities} "
                         "for Python {python_version}")
            elif ccs:
                text = _("no torch wheel in envcheck's data runs on {driver} with kernels for CC {capabilities}")
            elif python_version:
                text = _("no torch wheel in envcheck's data runs on {driver} for Python {python_version}")
            else:
                text = _("no torch wheel in envcheck's data runs on {driver}")
            details.append(text.format(driver=driver, capabilities=", ".join(ccs), python_version=python_version))
            any_python = driver_fit.newest_wheel_for(driver_cuda, driver_version, ccs) if python_version else None
            if any_python:
                low, high = knowledge.python_range(any_python.release) or ("?", "?")
                fixes.append(_("torch {release} ({variant}) runs here, but has no wheels for Python {python_version}: "
                               "create an environment with Python {python} (e.g. {create}) and install it there: "
                               "{command}").format(
                    release=any_python.release, variant=any_python.variant,
                    python_version=knowledge.minor_of(python_version), python=high,
                    create=f"conda create -n torch{any_python.release} python={high}",
                    command=f"python -m pip install {any_python.pip_args()}"))
    upgrade = driver_fit.driver_upgrade_for(wheel_cuda, ccs)
    ceiling = upgrade.ceiling
    if ceiling:
        details.append(_("the {architecture} GPUs' last driver branch is R{branch} (CUDA up to {max_cuda}); "
                         "source: {url}").format(architecture=ceiling.architecture, branch=ceiling.branch,
                                                 max_cuda=ceiling.max_cuda, url=ceiling.source_url))
    you = bool(fixes)
    if upgrade.reachable is False:
        have = knowledge.version_tuple(driver_version)
        if have and have[0] < int(ceiling.branch):
            text = _("No driver upgrade can run torch's CUDA {cuda} on these GPUs: the {architecture} GPUs' last "
                     "driver branch is R{branch}, which supports CUDA up to {max_cuda} (the machine's admin can "
                     "still update within R{branch}).")
        else:
            text = _("No driver upgrade can run torch's CUDA {cuda} on these GPUs: the {architecture} GPUs' last "
                     "driver branch is R{branch}, which supports CUDA up to {max_cuda}.")
        fixes.append(text.format(cuda=wheel_cuda, architecture=ceiling.architecture, branch=ceiling.branch,
                                 max_cuda=ceiling.max_cuda))
        dropped = _no_current_wheel(ccs)
        if dropped:
            fixes.append(dropped)
    else:
        fixes.append(_upgrade_driver_text(you, _needed_driver(upgrade.needed, wheel_cuda), ceiling))
    who = "you" if you else ("admin" if upgrade.reachable is not False else None)
    return "\n".join(fixes), who, details


def _needed_driver(needed: str | None, wheel_cuda: str) -> str:
    """The driver to upgrade to: ">= 580.65.06", or a description when the data has no number."""
    return f">= {needed}" if needed else _("a release that supports CUDA {cuda}").format(cuda=wheel_cuda)


def _upgrade_driver_text(after_another_fix: bool, needed: str, ceiling: Any) -> str:
    """The driver upgrade, the admin's to do: "Ask ..." alone, "Or ask ..." after a fix of your own."""
    if ceiling and after_another_fix:
        text = _("Or ask the machine's admin to upgrade the NVIDIA driver to {needed} (needs root and a reboot, "
                 "within R{branch}, the last branch these GPUs take)")
    elif ceiling:
        text = _("Ask the machine's admin to upgrade the NVIDIA driver to {needed} (needs root and a reboot, "
                 "within R{branch}, the last branch these GPUs take)")
    elif after_another_fix:
        text = _("Or ask the machine's admin to upgrade the NVIDIA driver to {needed} (needs root and a reboot)")
    else:
        text = _("Ask the machine's admin to upgrade the NVIDIA driver to {needed} (needs root and a reboot)")
    return text.format(needed=needed, branch=ceiling.branch if ceiling else "")


def _no_current_wheel(ccs: list[str]) -> str | None:
    """A line saying that the current torch has no kernels for these GPUs, when that is known."""
    dropped = [cc for cc in ccs if driver_fit.current_release_covers(cc) is False]
    if not dropped:
        return None
    latest = knowledge.known_torch_releases()[-1]
    sms = " ".join(f"sm_{cc.replace('.', '')}" for cc in dropped)
    older = driver_fit.newest_release_covering(dropped[0])
    if older:
        return _("No current torch wheel supports CC {capabilities} (torch {latest} ships no {arches} kernels); "
                 "the newest release that still has them is torch {release} ({variant}).").format(
            capabilities=", ".join(dropped), latest=latest, arches=sms, release=older[0], variant=older[1])
    return _("No current torch wheel supports CC {capabilities} (torch {latest} ships no {arches} kernels).").format(
        capabilities=", ".join(dropped), latest=latest, arches=sms)


def _torchvision_minor_pin(release: str) -> str | None:
    paired = knowledge.torchvision_for_torch(release)
    return f"{paired}.*" if paired else None


def _driver_text(driver_version: str | None, driver_cuda: str | None) -> str:
    """The driver as a noun phrase ("driver 470.256.02 (supports CUDA up to 11.4)"), put into
    sentences as their {driver} placeholder."""
    if driver_version and driver_cuda:
        return _("driver {version} (supports CUDA up to {cuda})").format(version=driver_version, cuda=driver_cuda)
    if driver_version:
        return _("driver {version} (highest CUDA it supports: unknown)").format(version=driver_version)
    return _("the driver (supports CUDA up to {cuda})").format(cuda=driver_cuda)


def _gpu_count(n: int) -> str:
    """"2 GPUs": a count put into sentences as their {gpus} placeholder."""
    return ngettext("{count} GPU", "{count} GPUs", n).format(count=n)


def _nvidia_gpu_count(n: int) -> str:
    return ngettext("{count} NVIDIA GPU", "{count} NVIDIA GPUs", n).format(count=n)


# ---------------------------------------------------------------- a torch that shadows the environment's

_SHADOW_WORDS = {"user_site": N_("the user site-packages (~/.local)"), "pythonpath": N_("a PYTHONPATH folder")}


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


def _shadows_own(origin: dict[str, Any]) -> bool:
    """Whether the stray copy hides one the environment has, or stands in for a missing one
    (`others` lists the copies import would find further down sys.path)."""
    return bool(origin.get("others"))


def defer_to_shadowing(facts: Facts) -> Finding | None:
    """A SKIP that points at python.shadowing, for the checks whose fix would install something to
    match the shadowing copy: installing into the environment does not change which torch is
    imported, and matching the stray copy would entrench it. SKIP, not WARN: python.shadowing
    already fails once for this root cause, and five more warnings would bury it."""
    origin = shadowing_torch(facts)
    if origin is None:
        return None
    where = origin.get("dir") or os.path.dirname(origin.get("file") or "") or _("unknown folder")
    version = f" (torch {origin['version']})" if origin.get("version") else ""
    if _shadows_own(origin):
        text = _("torch here is the copy at {where} from {source}, which shadows the environment's own torch; "
                 "fix python.shadowing first, then run the doctor again")
    else:
        text = _("torch here is the copy at {where} from {source}, not the environment's own (the environment has "
                 "no torch installed); fix python.shadowing first, then run the doctor again")
    return skip(text.format(where=f"{where}{version}", source=_(_SHADOW_WORDS[origin["origin"]])),
                details=[_("What this check would advise applies to the stray copy, not to the torch your "
                           "environment installs.")])


# ---------------------------------------------------------------- torch importable?


# Marked with N_(), translated where used; {python} and {pip} are filled in after translation.
_HANG_FIX = {
    "import_torch": N_(
        "Find where the import stalls: {python} -X importtime -c 'import torch' 2>&1 | tail -20\n"
        "(a torch on a slow network filesystem or a half-written install; reinstalling it fixes the latter)"
    ),
    "cuda_init": N_(
        "Check that `nvidia-smi` answers quickly; if it hangs too, the GPU or driver is stuck and the machine "
        "needs a reboot (or: sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm)"
    ),
    "cudnn": N_("Check LD_LIBRARY_PATH for another cuDNN: {python} -c 'import torch; print(torch.backends.cudnn.version())'"),
    "torchvision": N_("Reinstall torchvision from the same index as torch: {pip} --force-reinstall torchvision --index-url <torch's index>"),
}
_CRASH_FIX = {
    "import_torch": N_(
        "See where it crashes: {python} -X faulthandler -c 'import torch'\n"
        "(usually a library from LD_LIBRARY_PATH or LD_PRELOAD clashing with torch's own; unset them and retry, "
        "else reinstall: {pip} --force-reinstall torch torchvision)"
    ),
    "cuda_init": N_(
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
        return _("torch {release} has no wheel that {driver} runs on these GPUs; the newest that does is "
                 "torch {fit_release} ({variant}): {command}").format(
            release=release, driver=_driver_text(driver_version, driver_cuda), fit_release=fit.release,
            variant=fit.variant, command=pip_install(facts, fit.pip_args())), "you"
    return _("No torch wheel in envcheck's data runs on {driver} with these GPUs: ask the machine's admin to "
             "upgrade the NVIDIA driver, or install the CPU build: {command}").format(
        driver=_driver_text(driver_version, driver_cuda), command=install_command(facts, "cpu")), "you"


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
    loaded = _("loaded: {library}; missing symbol version: {symbol}; required by {by}") if by else \
        _("loaded: {library}; missing symbol version: {symbol}")
    details = [loaded.format(library=lib, symbol=symbol, by=by),
               _("Each libstdc++ provides the GLIBCXX_/CXXABI_ versions up to the GCC that built it; "
                 "the first libstdc++.so.6 the loader finds is used for the whole process.")]
    names = {"library": lib, "symbol": symbol}
    if folder and any(os.path.normpath(e) == os.path.normpath(folder) for e in entries):
        rest = [e for e in entries if os.path.normpath(e) != os.path.normpath(folder)]
        unset = f"export LD_LIBRARY_PATH={':'.join(rest)}" if rest else "unset LD_LIBRARY_PATH"
        fix = _("Take {folder} off LD_LIBRARY_PATH, which puts its older libstdc++ ahead of the system's: {command}\n"
                "(and remove the line that adds it from ~/.bashrc or your job script)").format(folder=folder, command=unset)
        conda = _conda_prefix_of(folder, facts)
        if conda:
            fix += "\n" + _("If you need that folder, update its libstdc++ instead: {command}").format(
                command=f"conda install -p {conda} -c conda-forge libstdcxx-ng")
        return (_("the libstdc++ loaded ({library}) is older than torch needs ({symbol} not found): it comes from "
                  "{folder} on LD_LIBRARY_PATH").format(folder=folder, **names), fix, details)
    conda = _conda_prefix_of(folder, facts) if folder else None
    if conda:
        return (_("the libstdc++ loaded ({library}) is older than torch needs ({symbol} not found): it is the conda "
                  "environment's own ({prefix})").format(prefix=conda, **names),
                _("Update the libstdc++ in that conda environment: {command}").format(
                    command=f"conda install -p {conda} -c conda-forge libstdcxx-ng"),
                details)
    if folder and folder.startswith(_SYSTEM_LIB_DIRS) and target_conda:
        return (_("the libstdc++ loaded ({library}) is older than torch needs ({symbol} not found): the system's "
                  "libstdc++ was loaded instead of the newer one in the conda environment {prefix}").format(
                    prefix=target_conda, **names),
                _("{command}\nthen put the environment's lib/ first (with the environment active): {export}").format(
                    command=f"conda install -p {target_conda} -c conda-forge libstdcxx-ng",
                    export="export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH"),
                details)
    if folder and folder.startswith(_SYSTEM_LIB_DIRS):
        return (_("the libstdc++ loaded ({library}) is older than torch needs ({symbol} not found): the system's "
                  "libstdc++ is too old for this torch wheel").format(**names),
                _("Use an environment that brings a newer libstdc++: a conda environment with "
                  "`conda install -c conda-forge libstdcxx-ng`, then install torch there "
                  "(`export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH` if the system's still wins); "
                  "or ask the machine's admin for a newer GCC runtime"),
                details)
    return (_("the libstdc++ loaded ({library}) is older than torch needs ({symbol} not found)").format(**names),
            _("Find which libstdc++ is loaded ahead of the system's (`echo $LD_LIBRARY_PATH`, `ldd` on the library "
              "named in the error) and take it off LD_LIBRARY_PATH, or update it "
              "(`conda install -c conda-forge libstdcxx-ng` in a conda environment)"),
            details)


@check("torch.import", "torch", N_("torch imports in the target interpreter (probe: import, CUDA init, devices)"), facts=FACTS)
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
        return skip(_("the torch probe was not run (--no-torch-probe): torch checks skipped"))
    if not result.ok:
        return fail(_("the torch probe did not run: {error}").format(error=facts.error("torch")),
                    fix=_("Run {command} and report the collector error as an envcheck bug.").format(
                        command="`envcheck doctor -v --only torch`"))
    torch = result.data
    status = torch.get("status")
    python = torch.get("target_python") or (torch.get("python") or {}).get("executable") or "python"
    python_version = (torch.get("python") or {}).get("version")
    if status == "ok":
        cuda, cudnn = torch.get("cuda"), decode_cudnn(torch.get("cudnn"))
        if torch.get("hip"):
            build = f"ROCm {torch['hip']}"
        elif _is_cpu_build(torch):
            build = _("CPU-only build")
        else:
            build = _("CUDA {cuda}, cuDNN {cudnn}").format(cuda=cuda, cudnn=cudnn or _("unknown"))
        count = torch.get("device_count")
        visible = _("GPUs visible: unknown") if count is None else \
            ngettext("{count} GPU visible", "{count} GPUs visible", int(count)).format(count=int(count))
        details = [_("torch at {path}").format(path=torch.get("file")),
                   _("Python {version} at {path}").format(version=python_version, path=python)]
        if torch.get("git_version"):
            details.append(_("git version {version}").format(version=torch["git_version"]))
        if torch.get("nccl"):
            details.append(f"NCCL {torch['nccl']}")
        details += _torch_warnings(torch)
        return ok(_("torch {version} ({build}), {visible}").format(version=torch.get("version"), build=build,
                                                                   visible=visible), details=details)
    if status == "not_installed":
        fix, who = _install_for_machine(facts, python_version)
        return warn(_("torch is not installed in {python} (Python {version})").format(
                        python=python, version=python_version or _("unknown")),
                    fix=fix, details=[_("The rest of the doctor still ran; the PyTorch checks need torch installed.")]).by(who)
    details = list(torch.get("import_traceback") or []) + [f"stderr: {line}" for line in (torch.get("stderr_tail") or [])[-5:]]
    step = torch.get("step")
    fixes = _CRASH_FIX if status == "crashed" else _HANG_FIX
    template = fixes.get(step or "", fixes.get("cuda_init" if (step or "").startswith("device") else "", ""))
    fix = _(template).format(python=python, pip=pip_install(facts, "")) if template else None
    error = error_text(torch)
    if status == "import_error":
        error = error or _("unknown error")
        libstdcxx = libstdcxx_cause(facts, error)
        if libstdcxx:
            cause, fix, extra = libstdcxx
            return fail(_("importing torch fails: {cause}").format(cause=cause), fix=fix, details=extra + details).by("you")
        if "libcudnn" in error or "libcublas" in error or "libnvJitLink" in error or "undefined symbol" in error:
            fix = _("A CUDA library from elsewhere is shadowing torch's own: check LD_LIBRARY_PATH (unset it and "
                    "retry), then reinstall: {command}").format(
                command=pip_install(facts, "--force-reinstall torch torchvision"))
        else:
            fix = _("Reinstall torch in this environment: {command}").format(
                command=pip_install(facts, "--force-reinstall torch torchvision"))
        return fail(_("importing torch fails: {error}").format(error=error), fix=fix, details=details).by("you")
    if status == "timeout":
        summary = _("the torch probe stopped: {error}").format(error=error)
    elif status == "crashed":
        # TRANSLATORS: {error} is the probe's sentence, e.g. "crashed with SIGSEGV while initialising CUDA".
        summary = _("torch {error}").format(error=error)
    elif status == "python_not_runnable":
        summary = _("cannot run the target interpreter: {error}").format(error=error)
        fix = _("Pass a working interpreter: {command}").format(
            command="envcheck doctor --python ~/miniconda3/envs/NAME/bin/python")
    else:
        summary = _("the torch probe gave no usable answer: {error}").format(error=error)
        fix = fix or _("Run the probe by hand to see its output: {command}").format(
            command=f"{python} -c 'import torch; print(torch.__version__)'")
    return fail(summary, fix=fix, details=details)


def _torch_warnings(torch: dict[str, Any], only: Callable[[str], bool] = lambda w: True) -> list[str]:
    """torch's own warnings (their text stays as torch wrote it), one detail each."""
    return [_("warning from torch: {warning}").format(warning=w) for w in torch.get("warnings") or [] if only(w)]


@check("torch.python_version", "torch", N_("the target Python is one torch publishes wheels for (when torch is missing)"),
       facts=FACTS)
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
        return skip(_("whether torch supports this Python is unknown (Python version not reported)"))
    supported = knowledge.python_supported(latest, python_version)
    span = f"{bounds[0]}-{bounds[1]}"
    if supported:
        return ok(_("Python {version} is supported by torch {latest} ({range})").format(
            version=python_version, latest=latest, range=span))
    older = knowledge.newest_torch_for_python(python_version)
    minor = knowledge.minor_of(python_version)
    create = f"conda create -n torch python={bounds[1]}"
    if older:
        return warn(_("Python {version} is outside torch {latest}'s range ({range}): pip would install torch {older} "
                      "at best").format(version=minor, latest=latest, range=span, older=older),
                    fix=_("Use Python {python} for the newest torch, e.g. {command}").format(python=bounds[1], command=create),
                    details=[_("newest torch with wheels for Python {version}: {older} (from the python_support data)")
                             .format(version=minor, older=older)])
    fix = _("Create an environment with a supported Python, e.g. {command}").format(command=create)
    details = [_("torch {latest} supports Python {range}").format(latest=latest, range=span)]
    oldest = knowledge.known_torch_releases()[0]
    oldest_range = knowledge.python_range(oldest)
    if oldest_range and knowledge.version_tuple(python_version)[:2] < knowledge.version_tuple(oldest_range[0])[:2]:
        # Releases before the data's first one may still have wheels for it: do not claim pip fails.
        return warn(_("Python {version} is older than any torch release from {oldest} on supports: pip would find "
                      "an old torch at best").format(version=minor, oldest=oldest),
                    fix=fix, details=details)
    return fail(_("no torch release in envcheck's data has validated wheels for Python {version}: {command} will "
                  "likely fail").format(version=minor, command="`pip install torch`"),
                fix=fix, details=details)


# ---------------------------------------------------------------- the right build for the machine


@check("torch.cuda_build", "torch", N_("a CUDA build of torch on a machine with NVIDIA GPUs"), facts=FACTS)
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
        return skip(_("whether this torch build fits the machine is unknown: the NVIDIA facts were not collected"))
    gpus = _gpus(facts)
    version = torch.get("version")
    if torch.get("hip"):
        return None
    if not _is_cpu_build(torch):
        if gpus:
            return ok(_("torch {version} is a CUDA {cuda} build; the machine has {gpus}").format(
                version=version, cuda=torch.get("cuda"), gpus=_nvidia_gpu_count(len(gpus))))
        return ok(_("torch {version} is a CUDA {cuda} build (no NVIDIA GPU found, so it will run on the CPU)").format(
            version=version, cuda=torch.get("cuda")))
    if not gpus:
        return ok(_("torch {version} is a CPU-only build, and no NVIDIA GPU was found").format(version=version))
    driver_version, driver_cuda = _driver(facts)
    choice = knowledge.best_variant_for_driver(version or "", driver_cuda, driver_version)
    ccs = _capabilities(facts)
    if choice and (not ccs or driver_fit.wheel_covers(version or "", choice.variant, ccs)):
        fix, who = reinstall_command(facts, version, choice.variant), "you"
    else:
        fix, who = _install_for_machine(facts, (torch.get("python") or {}).get("version"))
    return fail(_("torch {version} is a CPU-only build, but this machine has {gpus}: training will run on the CPU").format(
                    version=version, gpus=_nvidia_gpu_count(len(gpus))),
                fix=fix,
                details=[f"torch.version.cuda = {torch.get('cuda')}",
                         _("A plain {command} from some mirrors, or on Windows/macOS, gives the CPU build.").format(
                             command="`pip install torch`")]).by(who)


@check("torch.driver", "torch", N_("the NVIDIA driver is new enough for the CUDA runtime inside the torch wheel"),
       facts=FACTS)
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
    details = [_("rule: the driver's highest CUDA must be >= the wheel's CUDA, or the same major via minor-version "
                 "compatibility (driver >= {minimum})").format(minimum=verdict.minor_compat_min or _("unknown"))]
    if verdict.verdict == "ok":
        return ok(_("{driver} runs torch's CUDA {cuda}").format(driver=have, cuda=wheel_cuda), details=details)
    if verdict.verdict == "unknown":
        return skip(_("whether {driver} runs torch's CUDA {cuda} is unknown").format(driver=have, cuda=wheel_cuda),
                    details=details)
    if verdict.verdict == "minor_compat":
        fix, who = _minor_compat_fix(facts, torch, verdict.needed_driver)
        return warn(_("{driver} runs torch's CUDA {cuda} only through minor-version compatibility (limited features, "
                      "e.g. PTX JIT may fail)").format(driver=have, cuda=wheel_cuda),
                    fix=fix, details=details).by(who)
    fix, who, extra = driver_too_old_fix(facts, torch)
    # TRANSLATORS: {error} is CUDA's own error message, kept in English.
    return fail(_("{driver} is too old for torch {version} (CUDA {cuda}): expect {error}").format(
                    driver=have, version=version, cuda=wheel_cuda,
                    error='"CUDA driver version is insufficient for CUDA runtime version"'),
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
        lines.append(_("Use the variant this driver fully supports: {command}").format(
            command=reinstall_command(facts, version, full.variant)))
    upgrade = driver_fit.driver_upgrade_for(wheel_cuda, ccs)
    needed = _needed_driver(needed_driver, wheel_cuda)
    if upgrade.reachable is False:
        ceiling = upgrade.ceiling
        lines.append(_("No driver gives full support here: the {architecture} GPUs' last driver branch is "
                       "R{branch} (CUDA up to {max_cuda}).").format(
            architecture=ceiling.architecture, branch=ceiling.branch, max_cuda=ceiling.max_cuda))
    elif full:
        lines.append(_("Or ask the machine's admin to upgrade the NVIDIA driver to {needed} for full support "
                       "(needs root and a reboot)").format(needed=needed))
    else:
        lines.append(_("Ask the machine's admin to upgrade the NVIDIA driver to {needed} for full support "
                       "(needs root and a reboot)").format(needed=needed))
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


@check("torch.cuda_available", "torch", N_("torch.cuda.is_available() is True where NVML sees GPUs"), facts=FACTS)
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
        return ok(_("torch sees {gpus} (NVML sees {count})").format(gpus=_gpu_count(int(count)), count=len(gpus)))
    causes: list[tuple[str, str, str | None]] = []  # (cause, fix, who can carry out the fix)
    driver_version, driver_cuda = _driver(facts)
    verdict = knowledge.driver_supports(str(torch.get("cuda")), driver_cuda, driver_version)
    if verdict.verdict == "too_old":
        shadow = shadowing_torch(facts)
        if shadow:
            where = shadow.get("dir") or shadow.get("file")
            if _shadows_own(shadow):
                fix = _("torch here is the copy at {where}, which shadows the environment's own torch: "
                        "fix python.shadowing first").format(where=where)
            else:
                fix = _("torch here is the copy at {where}, not the environment's own (the environment has no torch "
                        "installed): fix python.shadowing first").format(where=where)
            who = "you"
        else:
            fix, who, _extra = driver_too_old_fix(facts, torch)
        causes.append((_("the driver is too old for torch's CUDA {cuda}").format(cuda=torch.get("cuda")), fix, who))
    hidden = _visible_devices_hide_all(facts, gpus)
    if hidden is not None:
        causes.append((_("{variable} hides every GPU").format(variable=f"CUDA_VISIBLE_DEVICES={hidden!r}"),
                       "unset CUDA_VISIBLE_DEVICES", "you"))
    nodes = facts.data("nvidia").get("dev_nodes") or {}
    if nodes.get("/dev/nvidia-uvm") is False:
        causes.append((_("/dev/nvidia-uvm is missing (the nvidia_uvm module is not loaded, common after suspend/resume)"),
                       _("{command}   (if it is loaded but broken: {reload})").format(
                           command="sudo modprobe nvidia_uvm", reload="sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm"),
                       "admin"))
    init_error = torch.get("cuda_init_error")
    if init_error:
        causes.append((_("CUDA initialisation said: {error}").format(error=init_error),
                       _("If this follows a suspend/resume or a driver update, the machine's admin reboots it (or "
                         "reloads nvidia_uvm as above)"),
                       "admin"))
    details = [_("cause {number}: {cause}").format(number=i, cause=text) for i, (text, _fix, _who) in enumerate(causes, 1)]
    details += _torch_warnings(torch)
    if not causes:
        return fail(_("torch.cuda.is_available() is False although NVML sees {gpus}; the cause is unknown").format(
                        gpus=_gpu_count(len(gpus))),
                    fix=_("See the error: {command}; a reboot (by the machine's admin) fixes a CUDA stack left broken "
                          "by suspend or a driver update").format(
                        command=f"{python_command(facts)} -c 'import torch; torch.cuda.init()'"),
                    details=details)
    return fail(_("torch.cuda.is_available() is False although NVML sees {gpus}: {cause}").format(
                    gpus=_gpu_count(len(gpus)), cause=causes[0][0]),
                fix="\n".join(dict.fromkeys(fix for _cause, fix, _who in causes)), details=details).by(causes[0][2])


# ---------------------------------------------------------------- does it run on these GPUs


def _devices_to_check(facts: Facts, torch: dict[str, Any]) -> list[dict[str, Any]]:
    devices = [d for d in torch.get("devices") or [] if d.get("capability")]
    if devices:
        return [{"label": f"cuda:{d['index']} ({d.get('name') or _('unknown model')})", "capability": d["capability"]}
                for d in devices]
    return [{"label": f"GPU {g.get('index')} ({g.get('name') or _('unknown model')})", "capability": g["compute_capability"]}
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


@check("torch.arch", "torch", N_("torch ships kernels for every GPU's compute capability (its arch list)"), facts=FACTS)
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
        origin = _("envcheck's data for torch {release} {variant}").format(release=knowledge.minor_of(version),
                                                                           variant=variant)
    if _is_cpu_build(torch):
        return None  # torch.cuda_build reports the CPU build
    if not arches:
        return skip(_("which GPUs torch {version} has kernels for is unknown (no arch list reported or known)").format(
            version=version))
    details = [_("arch list ({origin}): {arches}").format(origin=origin, arches=" ".join(arches))]
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
    details += [_("{device}: compiled from PTX at first use (slow first start)").format(device=d) for d in jit]
    details += _torch_warnings(torch, lambda w: "capability" in w or "sm_" in w)
    if not missing:
        count = len(devices)
        return ok(ngettext("torch {version} has kernels for all {count} GPU (CC {capabilities})",
                           "torch {version} has kernels for all {count} GPUs (CC {capabilities})", count).format(
                      version=version, count=count,
                      capabilities=", ".join(sorted({d["capability"] for d in devices}))),
                  details=details)
    ccs = sorted({cc for _described, cc in missing}, key=knowledge.version_tuple)
    target = _variant_for_capabilities(facts, version, ccs)
    who = "you"
    if target and target[0] == knowledge.minor_of(version):
        fix = reinstall_command(facts, version, target[1])
    elif target:
        fix = _("No {release} variant covers CC {capabilities}; torch {other} {variant} does: {command}").format(
            release=knowledge.minor_of(version), capabilities=", ".join(ccs), other=target[0], variant=target[1],
            command=install_command(facts, target[1], f"{target[0]}.*", _torchvision_minor_pin(target[0])))
    else:
        fix = _("No torch wheel in envcheck's data ships code for CC {capabilities}; build torch from source with "
                "{variable}").format(capabilities=", ".join(ccs), variable=f"TORCH_CUDA_ARCH_LIST={';'.join(ccs)}")
        who = None
    if target:
        driver_version, driver_cuda = _driver(facts)
        if (driver_version or driver_cuda) and not driver_fit.driver_runs(target[1], driver_cuda, driver_version):
            fix += "\n" + _("(that {variant} wheel needs a newer driver than {driver}: see torch.driver for what this "
                            "driver runs)").format(variant=target[1], driver=_driver_text(driver_version, driver_cuda))
    dropped = _no_current_wheel(ccs)
    if dropped:
        details.append(dropped)
    # TRANSLATORS: {error} is CUDA's own error message, kept in English.
    return fail(_("torch {version} has no kernels for {devices}: expect {error}").format(
                    version=version, devices=join(d for d, _cc in missing),
                    error='"no kernel image is available for execution on the device"'),
                fix=fix, details=details).by(who)


@check("torch.device_op", "torch", N_("a small matrix multiply on each GPU matches the CPU result"), facts=FACTS)
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
        if len(devices) > 1:
            return ok(_("a matrix multiply on each of the {count} GPUs matched the CPU result").format(count=len(devices)))
        return ok(_("a matrix multiply on {device} matched the CPU result").format(device="cuda:0"))
    findings = []
    for d in failed:
        error = d.get("op_error") or d.get("error") or _("unknown error")
        mismatch = _OP_MISMATCH.fullmatch(error)
        if mismatch:  # the probe's own words (envcheck/target/probe.py), not torch's
            error = _("result on cuda:{index} differs from the CPU result").format(index=mismatch.group(1))
        if "no kernel image" in error:
            fix = _("Install a torch variant built for this GPU (see torch.arch)")
        else:
            fix = _("Check the GPU: {command} (ECC errors, Xid in {dmesg}); reset it or reboot if it is in a bad "
                    "state").format(command=f"nvidia-smi -q -i {d.get('pci_bus_id') or d['index']}",
                                    dmesg="`sudo dmesg | grep -i xid`")
        findings.append(fail(_("a tensor op on {device} ({name}) failed: {error}").format(
            device=f"cuda:{d['index']}", name=d.get("name") or _("unknown model"), error=error), fix=fix))
    return findings


# The texts envcheck/target/probe.py writes itself (it runs in the target interpreter, without
# envcheck's catalog): recognised here and shown in the language of the run.
_OP_MISMATCH = re.compile(r"result on cuda:(\d+) differs from the CPU result")
_NO_OPS_LIBRARY = re.compile(r"torchvision has no compiled ops library \(_C_stable / _C\) in (.*)", re.S)


# ---------------------------------------------------------------- torchvision and cuDNN


def _variant_index(torch: dict[str, Any]) -> str | None:
    variant = knowledge.variant_of(torch.get("version"))
    return knowledge.index_url(variant) if variant else None


@check("torch.torchvision", "torch", N_("torchvision is installed, paired with this torch, and its C++ ops load"),
       facts=FACTS)
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
    release = knowledge.minor_of(version)
    pairing_text = _("torch {release} pairs with torchvision {paired}").format(release=release, paired=paired) if paired \
        else _("the torchvision paired with torch {release} is unknown (no source lists it)").format(release=release)
    error = vision.get("error")
    if error == "not installed":  # the probe's marker, not a message
        return warn(_("torchvision is not installed"), fix=install, details=[pairing_text]).by("you")
    if error:
        if "does not exist" in error and "torchvision::" in error:
            summary = _("torchvision is not built for torch {version}: {error}").format(version=version, error=error)
        else:
            summary = _("torchvision cannot be inspected: {error}").format(error=error)
        return fail(summary, fix=reinstall, details=[pairing_text]).by("you")
    have = vision.get("version") or _("unknown")
    if vision.get("ops_ok") is False:
        ops_error = vision.get("ops_error")
        no_library = _NO_OPS_LIBRARY.fullmatch(ops_error or "")
        if no_library:  # the probe's own words, not the loader's
            ops_error = _("torchvision has no compiled ops library ({names}) in {folder}").format(
                names="_C_stable / _C", folder=no_library.group(1))
        # TRANSLATORS: {error} is torchvision's own error message, kept in English.
        return fail(_("torchvision {have} has no compiled ops for torch {version} ({error})").format(
                        have=have, version=version, error='"operator torchvision::nms does not exist"'),
                    fix=reinstall,
                    details=[pairing_text] + ([ops_error] if ops_error else [])).by("you")
    if paired and knowledge.minor_of(have) != paired:
        return fail(_("torchvision {have} is not the release paired with torch {version} (needs {paired}.x)").format(
                        have=have, version=version, paired=paired),
                    fix=pip_install(facts, f"torchvision=={pin}{index_part}"), details=[pairing_text]).by("you")
    torch_variant, vision_variant = knowledge.variant_of(version), knowledge.variant_of(have)
    if torch_variant and vision_variant and torch_variant != vision_variant:
        return warn(_("torchvision {have} comes from the {vision_variant} index but torch {version} from "
                      "{torch_variant}").format(have=have, vision_variant=vision_variant, version=version,
                                                torch_variant=torch_variant),
                    fix=reinstall, details=[pairing_text]).by("you")
    if not paired:
        return ok(_("torchvision {have} is installed and its compiled ops load into this torch; whether it is the "
                    "release paired with torch {version} is unknown").format(have=have, version=version),
                  details=[pairing_text])
    return ok(_("torchvision {have} is paired with torch {version} and its ops load").format(have=have, version=version),
              details=[pairing_text])


@check("torch.cudnn", "torch", N_("cuDNN loads in a CUDA build of torch"), facts=FACTS)
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
    details = [_("cuDNN shipped with torch {release} {variant}: {version}").format(
        release=knowledge.minor_of(version), variant=variant, version=expected or _("unknown"))]
    details += [_("loaded: {library}").format(library=lib) for lib in loaded]
    have = decode_cudnn(torch.get("cudnn"))
    if have is None or torch.get("cudnn_available") is False:
        index = _variant_index(torch)
        fix = _("Reinstall torch so its cuDNN comes with it: {command}\n"
                "and make sure LD_LIBRARY_PATH does not point at another cuDNN").format(
            command=pip_install(facts, f"--force-reinstall torch=={_public_version(version)}"
                                + (f" --index-url {index}" if index else "")))
        return fail(_("cuDNN cannot be loaded by torch {version} ({call} is None): convolutions will fail").format(
                        version=version, call="torch.backends.cudnn.version()"),
                    fix=fix, details=details).by("you")
    if expected and knowledge.version_tuple(expected)[:2] != knowledge.version_tuple(have)[:2]:
        details.append(_("the loaded cuDNN differs from the one this wheel ships: another cuDNN may be shadowing it"))
    return ok(_("cuDNN {version} loads").format(version=have), details=details)
