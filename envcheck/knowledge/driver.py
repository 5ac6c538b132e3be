"""NVIDIA driver vs CUDA: which driver a CUDA toolkit needs, and whether a driver runs a wheel's CUDA.

Data: cuda_driver.yaml (NVIDIA CUDA Toolkit release notes Table 3 and the minor-version
compatibility table, https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html).
"""

from __future__ import annotations

from typing import NamedTuple

from envcheck.knowledge.loading import load
from envcheck.knowledge.versions import minor_of, version_tuple


class DriverVerdict(NamedTuple):
    verdict: str  # "ok" | "minor_compat" | "too_old" | "unknown"
    needed_driver: str | None  # the driver that gives full support for the wheel's CUDA
    minor_compat_min: str | None


def min_driver_for_cuda(cuda: str) -> tuple[str, str | None] | None:
    """(toolkit driver for full support, minor-version-compat minimum or None), or None if unknown.

    min_driver_for_cuda("12.8") -> ("570.26", "525").
    """
    row = load("cuda_driver")["cuda"].get(minor_of(cuda) or "")
    if row is None:
        return None
    return row["toolkit_driver"], row["minor_compat_min"]


def minor_compat_min_for_major(major: int | str) -> str | None:
    """The lowest driver that runs any toolkit of this CUDA major (minor-version compatibility)."""
    row = load("cuda_driver")["minor_compat_by_major"].get(str(major))
    return None if row is None else str(row["min"])


def cuda_for_driver(driver_version: str | None) -> str | None:
    """The newest CUDA whose toolkit (GA) driver this driver meets, from the table; None if below all."""
    have = version_tuple(driver_version)
    if not have:
        return None
    best = None
    for cuda, row in load("cuda_driver")["cuda"].items():
        if version_tuple(row["toolkit_driver"]) <= have and (best is None or version_tuple(cuda) > version_tuple(best)):
            best = cuda
    return best


def driver_supports(wheel_cuda: str, driver_cuda: str | None, driver_version: str | None = None) -> DriverVerdict:
    """Whether a driver runs a wheel's CUDA, by NVIDIA's rule ([NV-RN] section 2.2 and [NV-MVC] in
    cuda_driver.yaml; docs/knowledge.md, "The driver rule"): driver CUDA >= wheel CUDA is fine;
    same major with a lower minor works through minor-version compatibility if the driver meets
    that major's minimum; a newer wheel major fails."""
    wheel = version_tuple(wheel_cuda)
    row = min_driver_for_cuda(wheel_cuda)
    needed = row[0] if row else None
    compat_min = minor_compat_min_for_major(wheel[0]) if wheel else None
    if not driver_cuda and driver_version:
        driver_cuda = cuda_for_driver(driver_version)
    have = version_tuple(driver_cuda)
    if not wheel or not have or len(have) < 2:
        return DriverVerdict("unknown", needed, compat_min)
    if have[:2] >= wheel[:2]:
        return DriverVerdict("ok", needed, compat_min)
    if have[0] == wheel[0]:
        if compat_min is None:
            return DriverVerdict("too_old", needed, None)
        driver = version_tuple(driver_version)
        if driver is None:
            return DriverVerdict("unknown", needed, compat_min)
        if driver >= version_tuple(compat_min):
            return DriverVerdict("minor_compat", needed, compat_min)
        return DriverVerdict("too_old", needed, compat_min)
    return DriverVerdict("too_old", needed, compat_min)


def same_major_above_minimum(wheel_cuda: str, driver_cuda: str) -> bool:
    """Whether a driver known only by its CUDA (no driver version) surely meets the wheel major's
    minor-compat minimum.

    A driver reporting CUDA 12.x is at least the 12.0 GA driver, which is the 12.x minor-compat
    minimum; 13.x likewise (580). Only claim it where the major's minimum is not above its .0
    toolkit driver.
    """
    wheel, have = version_tuple(wheel_cuda), version_tuple(driver_cuda)
    if not wheel or not have or wheel[0] != have[0]:
        return False
    compat_min = minor_compat_min_for_major(wheel[0])
    base = min_driver_for_cuda(f"{wheel[0]}.0")
    return bool(compat_min and base and version_tuple(compat_min) <= version_tuple(base[0]))
