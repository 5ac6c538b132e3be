"""Fitting torch to the driver a machine has: the newest published torch wheel that a driver runs
on these GPUs, and whether a driver upgrade can reach what a wheel needs.

A student on a shared server cannot upgrade the driver; they can install another torch. So when
the driver is too old for the installed wheel, the first fix is the newest wheel THIS driver runs
(any release, not only the installed one), and the driver upgrade comes second, for the admin, and
only as far as the GPUs' last driver branch (gpu_driver_branches.py) allows.

Built only from the sourced tables: torch_wheels.yaml (variants), cuda_driver.yaml (the driver
rule), arch_lists.yaml (which GPUs a wheel has kernels for), python_support.yaml and
torch_torchvision.yaml. A wheel whose arch list is unknown is never claimed to cover a GPU, so the
answer may be older than strictly needed, never wrong by guess.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from envcheck.knowledge.arch import arch_list, covers, variants_covering
from envcheck.knowledge.driver import driver_supports, min_driver_for_cuda, same_major_above_minimum
from envcheck.knowledge.gpu_driver_branches import LastBranch, branch_ceiling
from envcheck.knowledge.python import python_supported
from envcheck.knowledge.versions import variant_cuda, version_tuple
from envcheck.knowledge.wheels import index_url, known_torch_releases, torchvision_for_torch, wheel_variants


class WheelFit(NamedTuple):
    release: str  # "2.7"
    variant: str  # "cu118"
    index_url: str  # "https://download.pytorch.org/whl/cu118"
    support: str  # "ok" (full support) | "minor_compat" (minor-version compatibility)
    torchvision: str | None  # "0.22", the paired torchvision minor; None when unknown

    def pip_args(self) -> str:
        """What follows `pip install`: "torch==2.7.* torchvision==0.22.* --index-url URL"."""
        vision = f"torchvision=={self.torchvision}.*" if self.torchvision else "torchvision"
        return f"torch=={self.release}.* {vision} --index-url {self.index_url}"


def driver_runs(variant: str, driver_cuda: str | None, driver_version: str | None) -> str | None:
    """"ok" or "minor_compat" when the driver runs this wheel variant's CUDA; None when it does not
    or that is unknown."""
    cuda = variant_cuda(variant)
    if not cuda:
        return None
    verdict = driver_supports(cuda, driver_cuda, driver_version).verdict
    if verdict in ("ok", "minor_compat"):
        return verdict
    if verdict == "unknown" and driver_cuda and same_major_above_minimum(cuda, driver_cuda):
        return "minor_compat"
    return None


def wheel_covers(release: str, variant: str, capabilities: Iterable[str]) -> bool:
    """Whether the wheel's known arch list has kernels (native or PTX) for every capability;
    False when the arch list is unknown."""
    arches = arch_list(release, variant)
    if arches is None:
        return False
    return all(covers(arches, cc) is not None for cc in capabilities)


def newest_wheel_for(driver_cuda: str | None, driver_version: str | None, capabilities: Iterable[str] = (),
                     python: str | None = None) -> WheelFit | None:
    """The newest torch release (then its newest CUDA variant, fully supported before minor-version
    compatible) that this driver runs, with kernels for every GPU capability given and wheels for
    this Python where that is known. None when no published wheel in the data fits.

    newest_wheel_for("11.4", "470.82.01", ["3.7"]) -> WheelFit("2.7", "cu118", ..., "minor_compat", "0.22").
    """
    if not driver_cuda and not driver_version:
        return None
    ccs = [cc for cc in capabilities if cc]
    for release in reversed(known_torch_releases()):
        if python and python_supported(release, python) is False:
            continue
        fits: dict[str, list[str]] = {"ok": [], "minor_compat": []}
        for variant in wheel_variants(release) or []:
            support = driver_runs(variant, driver_cuda, driver_version)
            if support and (not ccs or wheel_covers(release, variant, ccs)):
                fits[support].append(variant)
        for support in ("ok", "minor_compat"):
            if fits[support]:
                variant = fits[support][-1]
                return WheelFit(release, variant, index_url(variant), support, torchvision_for_torch(release))
    return None


def newest_release_covering(capability: str) -> tuple[str, str] | None:
    """(release, variant) of the newest torch in the data with native code for this capability,
    whatever the driver; None when no known arch list has it."""
    for release in reversed(known_torch_releases()):
        covering = variants_covering(release, capability)
        if covering:
            return release, covering[-1]
    return None


def current_release_covers(capability: str) -> bool | None:
    """Whether the newest torch release in the data has a wheel with native code for this GPU;
    None when its arch lists are unknown."""
    latest = known_torch_releases()[-1]
    covering = variants_covering(latest, capability)
    return None if covering is None else bool(covering)


class DriverUpgrade(NamedTuple):
    needed: str | None  # the driver that fully supports the wheel's CUDA ("580.65.06"); None when unknown
    ceiling: LastBranch | None  # the GPUs' last driver branch; None when none is announced
    reachable: bool | None  # whether the GPUs can take that driver; None when unknown


def driver_upgrade_for(wheel_cuda: str, capabilities: Iterable[str | None]) -> DriverUpgrade:
    """What driver a wheel's CUDA needs, and whether these GPUs can take it.

    driver_upgrade_for("13.0", ["3.7"]) -> DriverUpgrade("580.65.06", <Kepler, R470>, False).
    """
    row = min_driver_for_cuda(wheel_cuda)
    needed = row[0] if row else None
    ceiling = branch_ceiling(capabilities)
    if ceiling is None:
        return DriverUpgrade(needed, None, True if needed else None)
    if needed:
        return DriverUpgrade(needed, ceiling, version_tuple(needed)[0] <= int(ceiling.branch))
    # No toolkit-driver row for this CUDA (e.g. 12.7): compare with the newest CUDA the last branch runs.
    wheel, top = version_tuple(wheel_cuda), version_tuple(ceiling.max_cuda)
    if wheel and top and wheel[:2] > top[:2]:
        return DriverUpgrade(None, ceiling, False)
    return DriverUpgrade(None, ceiling, None)
