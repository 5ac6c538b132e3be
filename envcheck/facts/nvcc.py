"""The "nvcc" collector: the CUDA compiler on PATH, CUDA_HOME/CUDA_PATH, and the toolkit that
torch's extension builder (torch.utils.cpp_extension) would pick.

torch's _find_cuda_home order (torch/utils/cpp_extension.py): $CUDA_HOME, then $CUDA_PATH, then
dirname(dirname(which nvcc)), then /usr/local/cuda. The builder then runs <home>/bin/nvcc, not
the nvcc on PATH, which is why both are recorded.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from envcheck.core.context import Context
from envcheck.facts import collector
from envcheck.i18n import _

_RELEASE = re.compile(r"release (\d+\.\d+)")
_BUILD = re.compile(r"\bV(\d+\.\d+\.\d+)")


def parse_nvcc_version(text: str) -> dict[str, str | None]:
    """'Cuda compilation tools, release 12.4, V12.4.131' -> {"release": "12.4", "build": "12.4.131"}."""
    release = _RELEASE.search(text or "")
    build = _BUILD.search(text or "")
    return {"release": release.group(1) if release else None, "build": build.group(1) if build else None}


def _nvcc_version(ctx: Context, nvcc: str) -> dict[str, Any]:
    result = ctx.run([nvcc, "--version"], timeout=ctx.timeout)
    if not result.ok:
        return {"release": None, "build": None, "error": result.describe_failure()}
    parsed = parse_nvcc_version(result.stdout)
    parsed["error"] = None if parsed["release"] else _("no 'release X.Y' in `nvcc --version` output")
    return parsed


def _under_root(ctx: Context, path: str) -> Path:
    # Absolute paths from the environment are looked up under ctx.sys_root so tests can supply a
    # fake filesystem; with the real root this is the path itself.
    return ctx.sys_root / path.lstrip("/") if os.path.isabs(path) else Path(path)


@collector("nvcc", "The CUDA compiler on PATH, CUDA_HOME/CUDA_PATH and the toolkit torch extensions would build with")
def collect_nvcc(ctx: Context) -> dict[str, Any]:
    data: dict[str, Any] = {
        "path_nvcc": ctx.which("nvcc"),
        "path_nvcc_version": None,
        "cuda_home_env": ctx.env.get("CUDA_HOME"),
        "cuda_path_env": ctx.env.get("CUDA_PATH"),
        "cuda_home_is_dir": None,
        "torch_cuda_home": None,
        "torch_cuda_home_source": None,
        "home_nvcc": None,
        "home_nvcc_exists": None,
        "home_nvcc_version": None,
        "home_has_headers": None,
        "header_homes": [],
    }
    if data["path_nvcc"]:
        data["path_nvcc_version"] = _nvcc_version(ctx, data["path_nvcc"])
    if data["cuda_home_env"]:
        data["cuda_home_is_dir"] = _under_root(ctx, data["cuda_home_env"]).is_dir()

    home, source, home_real = None, None, None
    if data["cuda_home_env"]:
        home, source = data["cuda_home_env"], "CUDA_HOME"
        home_real = _under_root(ctx, home)
    elif data["cuda_path_env"]:
        home, source = data["cuda_path_env"], "CUDA_PATH"
        home_real = _under_root(ctx, home)
    elif data["path_nvcc"]:
        # ctx.which already looked on the real filesystem.
        home, source = os.path.dirname(os.path.dirname(data["path_nvcc"])), "nvcc on PATH"
        home_real = Path(home)
    elif (ctx.sys_root / "usr/local/cuda").exists():
        home, source = "/usr/local/cuda", "/usr/local/cuda"
        home_real = ctx.sys_root / "usr/local/cuda"
    data["torch_cuda_home"] = home
    data["torch_cuda_home_source"] = source
    if home:
        real = home_real / "bin" / "nvcc"
        data["home_nvcc"] = os.path.join(home, "bin", "nvcc")
        data["home_nvcc_exists"] = real.is_file()
        same_as_path = bool(data["path_nvcc"]) and os.path.realpath(data["path_nvcc"]) == os.path.realpath(real)
        if data["home_nvcc_exists"]:
            data["home_nvcc_version"] = data["path_nvcc_version"] if same_as_path else _nvcc_version(ctx, str(real))
        # An nvcc on PATH that is a wrapper script or a symlink in /usr/local/bin makes torch pick
        # /usr/local as the toolkit, where no CUDA headers live.
        data["home_has_headers"] = (home_real / "include" / "cuda_runtime.h").is_file()
    data["header_homes"] = _toolkits_with_headers(ctx, data["path_nvcc"])
    return data


def _toolkits_with_headers(ctx: Context, path_nvcc: str | None) -> list[str]:
    """Toolkit folders that really hold CUDA headers: candidates to suggest for CUDA_HOME."""
    candidates = []
    if path_nvcc:
        candidates.append((os.path.dirname(os.path.dirname(os.path.realpath(path_nvcc))), None))
    candidates.append(("/usr/local/cuda", ctx.sys_root / "usr/local/cuda"))
    found = []
    for shown, real in candidates:
        real = real or Path(shown)
        if (real / "include" / "cuda_runtime.h").is_file() and shown not in found:
            found.append(shown)
    return found
