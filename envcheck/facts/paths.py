"""PATH and LD_LIBRARY_PATH as the shell will use them: missing and duplicate entries, which copy
of python/pip/nvcc wins, and which CUDA libraries each library folder would inject."""

from __future__ import annotations

import os
import re
from pathlib import Path

from envcheck.core.context import Context
from envcheck.facts import collector

SHADOW_NAMES = ("python", "python3", "pip", "pip3", "nvcc", "nvidia-smi", "conda", "torchrun")
CUDA_LIB_PATTERNS = ("libcudart.so*", "libcublas*.so*", "libcudnn*.so*", "libnccl*.so*", "libnvJitLink*.so*")

# /usr/local/cuda-11.8/lib64, /opt/cuda_12.1/..., /usr/local/cuda/12.4/... (some module systems)
_CUDA_DIR_VERSION = re.compile(r"cuda[-_/]?v?(\d{1,2}\.\d{1,2})(?![\d])", re.IGNORECASE)
# Only a three-part libcudart name (libcudart.so.11.8.89) pins major.minor: the soname
# libcudart.so.11.0 is shared by every CUDA 11.x, and libcudart.so.12 says only "12".
_CUDART_FULL = re.compile(r"^libcudart\.so\.(\d+)\.(\d+)\.\d+$")
_CUDART_MAJOR = re.compile(r"^libcudart\.so\.(\d+)(?:\.\d+)*$")


def split_path_list(value: str | None) -> list[str]:
    """Entries of a colon-separated list, empty ones kept as '' (they mean the current folder)."""
    if value is None or value == "":
        return []
    return value.split(":")


# Folders that distributions' default PATHs (Ubuntu's /etc/environment, Debian's /etc/profile, snapd,
# flatpak) and skeleton start-up files list whether or not they exist on this machine: a missing one
# is how the machine was set up, not a mistake of the user.
DISTRO_DEFAULT_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/games",
                       "/usr/local/games", "/snap/bin", "/var/lib/snapd/snap/bin", "/var/lib/flatpak/exports/bin")
USER_DEFAULT_DIRS = ("bin", ".local/bin", ".local/share/flatpak/exports/bin")


def is_distro_default(directory: str, home: str | os.PathLike | None = None) -> bool:
    normal = os.path.normpath(directory)
    if normal in DISTRO_DEFAULT_DIRS:
        return True
    return home is not None and normal in {os.path.normpath(os.path.join(str(home), d)) for d in USER_DEFAULT_DIRS}


def path_entries(value: str | None, home: str | os.PathLike | None = None) -> list[dict]:
    entries = []
    first_seen: dict[str, int] = {}
    for index, raw in enumerate(split_path_list(value)):
        directory = raw or "."
        normal = os.path.normpath(directory)
        entries.append({
            "dir": raw,
            "exists": os.path.exists(directory),
            "is_dir": os.path.isdir(directory),
            "duplicate_of": first_seen.get(normal),
            "distro_default": bool(raw) and is_distro_default(raw, home),
        })
        first_seen.setdefault(normal, index)
    return entries


def shadowed_executables(value: str | None, names=SHADOW_NAMES) -> dict[str, list[dict]]:
    """For each name, every PATH folder holding an executable of that name, first (winner) first."""
    found: dict[str, list[dict]] = {}
    seen_dirs: set[str] = set()
    for raw in split_path_list(value):
        directory = os.path.normpath(raw or ".")
        if directory in seen_dirs or not os.path.isdir(directory):
            continue
        seen_dirs.add(directory)
        for name in names:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                found.setdefault(name, []).append(
                    {"dir": directory, "path": candidate, "realpath": os.path.realpath(candidate)}
                )
    return found


def cuda_version_from_dir(directory: str) -> str | None:
    match = _CUDA_DIR_VERSION.search(directory)
    return match.group(1) if match else None


def cuda_version_from_libs(names: list[str]) -> str | None:
    """major.minor from a full libcudart file name, else the major alone, else None."""
    major = None
    for name in names:
        full = _CUDART_FULL.match(name)
        if full:
            return f"{full.group(1)}.{full.group(2)}"
        only_major = _CUDART_MAJOR.match(name)
        if only_major:
            major = only_major.group(1)
    return major


def _cuda_libraries(directory: Path) -> list[str]:
    names: set[str] = set()
    for pattern in CUDA_LIB_PATTERNS:
        try:
            matches = list(directory.glob(pattern))
        except OSError:
            continue
        for match in matches:
            names.add(match.name)
            if match.is_symlink():
                # libcudart.so -> libcudart.so.11.8.89: the target's name carries the version.
                names.add(os.path.basename(os.path.realpath(match)))
    return sorted(names)


def library_path_entries(value: str | None) -> list[dict]:
    entries = []
    for raw in split_path_list(value):
        directory = Path(raw or ".")
        libraries = _cuda_libraries(directory) if directory.is_dir() else []
        from_dir = cuda_version_from_dir(raw)
        from_libs = cuda_version_from_libs(libraries)
        # What the folder holds beats what its name says; a bare major ("12") is less than a name's 12.1.
        if from_libs and "." in from_libs:
            guess, source = from_libs, "libcudart"
        elif from_dir:
            guess, source = from_dir, "path"
        elif from_libs:
            guess, source = from_libs, "libcudart"
        else:
            guess, source = "unknown", None
        entries.append({
            "dir": raw,
            "exists": directory.is_dir(),
            "cuda_libraries": libraries,
            "cuda_version": guess,
            "cuda_version_source": source,
        })
    return entries


@collector("paths", "PATH entries, executables shadowed on PATH, CUDA libraries on LD_LIBRARY_PATH")
def collect_paths(ctx: Context) -> dict:
    path_value = ctx.env.get("PATH")
    library_value = ctx.env.get("LD_LIBRARY_PATH")
    return {
        "path": path_entries(path_value, ctx.home),
        "shadowed": shadowed_executables(path_value),
        "ld_library_path_set": library_value is not None,
        "ld_library_path": library_path_entries(library_value),
        "ld_preload": ctx.env.get("LD_PRELOAD") or None,
    }
