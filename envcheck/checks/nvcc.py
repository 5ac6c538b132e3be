"""The CUDA toolkit (nvcc) that torch's extension builder would use, against torch's own CUDA.

Only matters for building CUDA extensions (flash-attention, apex, custom ops): torch wheels carry
their own CUDA runtime. The rules are torch.utils.cpp_extension's (_find_cuda_home and
_check_cuda_version, https://github.com/pytorch/pytorch/blob/main/torch/utils/cpp_extension.py):
a different major version is an error, a different minor only a warning.
"""

from __future__ import annotations

from typing import Any

from envcheck.checks import check, fail, ok, warn
from envcheck.core.model import Facts, Finding

FACTS = ("nvcc", "torch", "nvidia")


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
        f"driver supports CUDA up to: {nvidia.get('cuda_driver_version') or 'unknown'} "
        "(nvidia-smi's \"CUDA Version\": a maximum, not an installed toolkit)",
        f"nvcc used for extension builds: {release or 'none'}" + (f" (V{build}, {path})" if release and build else (f" ({path})" if path else "")),
    ]
    if nvcc.get("path_nvcc") and nvcc.get("path_nvcc") != path:
        lines.append(f"nvcc on PATH: {path_release or 'unknown'} ({nvcc['path_nvcc']})")
    lines.append(f"torch built with CUDA: {torch.get('cuda') or ('none (CPU build)' if torch.get('status') == 'ok' else 'unknown')}")
    return lines


def _toolkit_hint(cuda: str | None) -> str:
    version = cuda or "X.Y"
    return (f"conda install -c nvidia cuda-toolkit={version}   (or install the system CUDA {version} toolkit "
            f"and export CUDA_HOME=/usr/local/cuda-{version})")


@check("nvcc.version", "nvcc", "nvcc (for building CUDA extensions) matches torch's CUDA version", facts=FACTS)
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
    path, release, _ = builder_nvcc(nvcc)
    if path is None:
        where = nvcc.get("torch_cuda_home")
        summary = "no nvcc found: fine unless you build CUDA extensions (flash-attention, apex, custom ops)"
        if where:
            summary = f"no nvcc at {where}/bin/nvcc: fine unless you build CUDA extensions"
        return ok(summary, details=details + [f"to get one: {_toolkit_hint(torch_cuda)}"])
    if release is None:
        error = (nvcc.get("home_nvcc_version") or {}).get("error") or "unknown"
        return warn(f"cannot tell the version of {path}: {error}",
                       fix=f"Run `{path} --version` to see what is wrong with it", details=details).by("you")
    if not torch_cuda:
        return ok(f"nvcc {release} at {path} (torch's CUDA version unknown or a CPU build: nothing to compare)",
                       details=details)
    have, want = release.split("."), str(torch_cuda).split(".")
    if have[0] != want[0]:
        # A warning, not a failure: torch itself, training included, never runs nvcc; only building
        # a CUDA extension does, and that is where the mismatch stops you.
        return warn(f"nvcc {release} and torch's CUDA {torch_cuda} differ in major version: CUDA extensions "
                    "(flash-attention, apex, custom ops) will not build; torch itself and training are not affected",
                    fix=_toolkit_hint(torch_cuda), details=details + [
                        "torch.utils.cpp_extension raises \"The detected CUDA version mismatches the version that was used to compile PyTorch\""]).by("you")
    if have[:2] != want[:2]:
        return warn(f"nvcc {release} and torch's CUDA {torch_cuda} differ in minor version: extensions build, with a warning",
                       fix=_toolkit_hint(torch_cuda), details=details).by("you")
    return ok(f"nvcc {release} matches torch's CUDA {torch_cuda}", details=details)


@check("nvcc.cuda_home", "nvcc", "CUDA_HOME/CUDA_PATH point at a usable toolkit, the one nvcc on PATH belongs to", facts=FACTS)
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
    suggestions = nvcc.get("header_homes") or []
    suggestion = f"export CUDA_HOME={suggestions[0]}" if suggestions else "export CUDA_HOME=<your toolkit folder, e.g. /usr/local/cuda-12.8>"
    if nvcc.get("cuda_home_env") and nvcc.get("cuda_home_is_dir") is False:
        return fail(f"CUDA_HOME={nvcc['cuda_home_env']} is not a directory: extension builds will fail",
                       fix=f"{suggestion}   (or: unset CUDA_HOME)").by("you")
    if not nvcc.get("home_nvcc_exists"):
        return warn(f"torch would build extensions with {home} (from {source}), which has no bin/nvcc",
                       fix=suggestion if suggestions else _toolkit_hint(facts.data("torch").get("cuda"))).by("you")
    path_release = _release(nvcc.get("path_nvcc_version"))
    home_release = _release(nvcc.get("home_nvcc_version"))
    if nvcc.get("path_nvcc") and path_release and home_release and path_release != home_release:
        return warn(f"{source} points at CUDA {home_release} ({home}) but nvcc on PATH is {path_release}: "
                       "torch's extension builder uses CUDA_HOME first, so builds use the one you may not expect",
                       fix="Make them agree: export CUDA_HOME=<toolkit of the nvcc you want>, export PATH=$CUDA_HOME/bin:$PATH",
                       details=[f"nvcc on PATH: {nvcc['path_nvcc']}", f"nvcc in {home}: {nvcc.get('home_nvcc')}"]).by("you")
    if nvcc.get("home_has_headers") is False:
        return warn(f"torch would use {home} as the CUDA toolkit (from {source}) but it has no include/cuda_runtime.h: "
                       "extension builds will fail to find CUDA headers",
                       fix=suggestion,
                       details=["torch takes dirname(dirname(which nvcc)) without resolving links, so an nvcc wrapper "
                                "or symlink in /usr/local/bin makes it pick /usr/local"]).by("you")
    return ok(f"torch would build extensions with the toolkit at {home} (from {source})")
