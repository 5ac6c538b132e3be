"""The CUDA toolkit (nvcc) that torch's extension builder would use, against torch's own CUDA.

Only matters for building CUDA extensions (flash-attention, apex, custom ops): torch wheels carry
their own CUDA runtime. The rules are torch.utils.cpp_extension's (_find_cuda_home and
_check_cuda_version, https://github.com/pytorch/pytorch/blob/main/torch/utils/cpp_extension.py):
a different major version is an error, a different minor only a warning.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through _(),
the descriptions are marked with N_(); paths, versions, commands and variable names are
placeholders or stay literally inside the message.
"""

from __future__ import annotations

from typing import Any

from envcheck.checks import check, fail, ok, warn
from envcheck.core.model import Facts, Finding
from envcheck.i18n import N_, _

FACTS = ("nvcc", "torch", "nvidia")
# Where torch's CUDA home comes from (the collector's torch_cuda_home_source): words to translate;
# the others (CUDA_HOME, CUDA_PATH, /usr/local/cuda) are names.
_SOURCES = {"nvcc on PATH": N_("nvcc on PATH")}


def _release(version: dict[str, Any] | None) -> str | None:
    return (version or {}).get("release")


def builder_nvcc(nvcc: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(nvcc path, release, build) that torch's extension builder would run: <home>/bin/nvcc."""
    if nvcc.get("home_nvcc_exists"):
        version = nvcc.get("home_nvcc_version") or {}
        return nvcc.get("home_nvcc"), version.get("release"), version.get("build")
    return None, None, None


def three_values(facts: Facts) -> list[str]:
    """Driver maximum, nvcc and torch's CUDA side by side: three different things users mix up."""
    nvidia, nvcc, torch = facts.data("nvidia"), facts.data("nvcc"), facts.data("torch")
    path, release, build = builder_nvcc(nvcc)
    path_release = _release(nvcc.get("path_nvcc_version"))
    lines = [
        _("driver supports CUDA up to: {version} (nvidia-smi's {label}: a maximum, not an installed toolkit)").format(
            version=nvidia.get("cuda_driver_version") or _("unknown"), label='"CUDA Version"'),
        _("nvcc used for extension builds: {version}").format(
            version=(release or _("none")) + (f" (V{build}, {path})" if release and build else (f" ({path})" if path else ""))),
    ]
    if nvcc.get("path_nvcc") and nvcc.get("path_nvcc") != path:
        lines.append(_("nvcc on PATH: {version} ({path})").format(version=path_release or _("unknown"), path=nvcc["path_nvcc"]))
    lines.append(_("torch built with CUDA: {version}").format(
        version=torch.get("cuda") or (_("none (CPU build)") if torch.get("status") == "ok" else _("unknown"))))
    return lines


def _toolkit_hint(cuda: str | None) -> str:
    version = cuda or "X.Y"
    return _("{command}   (or install the system CUDA {version} toolkit and {export})").format(
        command=f"conda install -c nvidia cuda-toolkit={version}", version=version,
        export=f"export CUDA_HOME=/usr/local/cuda-{version}")


@check("nvcc.version", "nvcc", N_("nvcc (for building CUDA extensions) matches torch's CUDA version"), facts=FACTS)
def nvcc_version(facts: Facts) -> Finding | None:
    """The nvcc that torch's extension builder would run (`<CUDA home>/bin/nvcc`) compared with
    `torch.version.cuda`, using `torch.utils.cpp_extension._check_cuda_version`'s rule: a different
    major is **WARN** (extensions will not build, while torch and training work: not a failure of the
    environment), a different minor is **WARN** (extensions build, with a warning). No nvcc is OK:
    "fine unless you build CUDA extensions". The details show three labelled values: driver maximum
    CUDA, nvcc, torch CUDA.

    Why: Flash-attention, apex and custom ops fail to build.

    Fix: `conda install -c nvidia cuda-toolkit=<torch's CUDA>`, or a system toolkit plus `export
    CUDA_HOME=…`
    """
    nvcc = facts.data("nvcc")
    if not nvcc:
        return None
    torch = facts.data("torch")
    torch_cuda = torch.get("cuda") if torch.get("status") == "ok" else None
    details = three_values(facts)
    path, release, _build = builder_nvcc(nvcc)
    if path is None:
        where = nvcc.get("torch_cuda_home")
        summary = _("no nvcc found: fine unless you build CUDA extensions (flash-attention, apex, custom ops)")
        if where:
            summary = _("no nvcc at {path}: fine unless you build CUDA extensions").format(path=f"{where}/bin/nvcc")
        return ok(summary, details=details + [_("to get one: {command}").format(command=_toolkit_hint(torch_cuda))])
    if release is None:
        error = (nvcc.get("home_nvcc_version") or {}).get("error") or _("unknown")
        return warn(_("cannot tell the version of {path}: {error}").format(path=path, error=error),
                    fix=_("Run {command} to see what is wrong with it").format(command=f"`{path} --version`"),
                    details=details).by("you")
    if not torch_cuda:
        return ok(_("nvcc {version} at {path} (torch's CUDA version unknown or a CPU build: nothing to compare)").format(
                      version=release, path=path),
                  details=details)
    have, want = release.split("."), str(torch_cuda).split(".")
    if have[0] != want[0]:
        # A warning, not a failure: torch itself, training included, never runs nvcc; only building
        # a CUDA extension does, and that is where the mismatch stops you.
        return warn(_("nvcc {version} and torch's CUDA {torch_version} differ in major version: CUDA extensions "
                      "(flash-attention, apex, custom ops) will not build; torch itself and training are not affected").format(
                        version=release, torch_version=torch_cuda),
                    fix=_toolkit_hint(torch_cuda), details=details + [
                        _("{module} raises {error}").format(
                            module="torch.utils.cpp_extension",
                            error='"The detected CUDA version mismatches the version that was used to compile PyTorch"')]
                    ).by("you")
    if have[:2] != want[:2]:
        return warn(_("nvcc {version} and torch's CUDA {torch_version} differ in minor version: extensions build, with a "
                      "warning").format(version=release, torch_version=torch_cuda),
                    fix=_toolkit_hint(torch_cuda), details=details).by("you")
    return ok(_("nvcc {version} matches torch's CUDA {torch_version}").format(version=release, torch_version=torch_cuda),
              details=details)


@check("nvcc.cuda_home", "nvcc", N_("CUDA_HOME/CUDA_PATH point at a usable toolkit, the one nvcc on PATH belongs to"), facts=FACTS)
def nvcc_cuda_home(facts: Facts) -> Finding | None:
    """**FAIL** when `CUDA_HOME` is set to a path that is not a directory. **WARN** when the home torch
    picks (CUDA_HOME → CUDA_PATH → `dirname(dirname(which nvcc))` → /usr/local/cuda) has no
    `bin/nvcc`, when its nvcc differs from the one on PATH (torch uses CUDA_HOME first), or when it
    has no `include/cuda_runtime.h`. The last one happens when nvcc on PATH is a wrapper or symlink
    in `/usr/local/bin`, because torch then picks `/usr/local`; this is the case on the development
    machine.

    Why: Extension builds use a toolkit the user did not expect, or find no headers.

    Fix: `export CUDA_HOME=<a toolkit folder that has headers>`
    """
    nvcc = facts.data("nvcc")
    home = nvcc.get("torch_cuda_home")
    if not nvcc or not home:
        return None
    source = nvcc.get("torch_cuda_home_source")
    source = _(_SOURCES[source]) if source in _SOURCES else source
    suggestions = nvcc.get("header_homes") or []
    suggestion = f"export CUDA_HOME={suggestions[0]}" if suggestions else _(
        "export CUDA_HOME=<your toolkit folder, e.g. {example}>").format(example="/usr/local/cuda-12.8")
    if nvcc.get("cuda_home_env") and nvcc.get("cuda_home_is_dir") is False:
        return fail(_("{assignment} is not a directory: extension builds will fail").format(
                        assignment=f"CUDA_HOME={nvcc['cuda_home_env']}"),
                    fix=_("{command}   (or: {unset})").format(command=suggestion, unset="unset CUDA_HOME")).by("you")
    if not nvcc.get("home_nvcc_exists"):
        return warn(_("torch would build extensions with {home} (from {source}), which has no bin/nvcc").format(
                        home=home, source=source),
                    fix=suggestion if suggestions else _toolkit_hint(facts.data("torch").get("cuda"))).by("you")
    path_release = _release(nvcc.get("path_nvcc_version"))
    home_release = _release(nvcc.get("home_nvcc_version"))
    if nvcc.get("path_nvcc") and path_release and home_release and path_release != home_release:
        return warn(_("{source} points at CUDA {home_version} ({home}) but nvcc on PATH is {path_version}: torch's "
                      "extension builder uses CUDA_HOME first, so builds use the one you may not expect").format(
                        source=source, home_version=home_release, home=home, path_version=path_release),
                    fix=_("Make them agree: {export_home}, {export_path}").format(
                        export_home=_("export CUDA_HOME=<toolkit of the nvcc you want>"),
                        export_path="export PATH=$CUDA_HOME/bin:$PATH"),
                    details=[_("nvcc on PATH: {path}").format(path=nvcc["path_nvcc"]),
                             _("nvcc in {home}: {path}").format(home=home, path=nvcc.get("home_nvcc"))]).by("you")
    if nvcc.get("home_has_headers") is False:
        return warn(_("torch would use {home} as the CUDA toolkit (from {source}) but it has no include/cuda_runtime.h: "
                      "extension builds will fail to find CUDA headers").format(home=home, source=source),
                    fix=suggestion,
                    details=[_("torch takes {expression} without resolving links, so an nvcc wrapper or symlink in "
                               "/usr/local/bin makes it pick /usr/local").format(
                                 expression="dirname(dirname(which nvcc))")]).by("you")
    return ok(_("torch would build extensions with the toolkit at {home} (from {source})").format(home=home, source=source))
