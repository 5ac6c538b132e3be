"""torch wheels: the CUDA variants of each release, their index URLs and cuDNN, which variant a
driver runs, and the torchvision that pairs with each torch.

Data: torch_wheels.yaml (pytorch/pytorch RELEASE.md, pytorch/test-infra
generate_binary_build_matrix.py) and torch_torchvision.yaml (the pytorch/vision README table).
"""

from __future__ import annotations

from typing import NamedTuple

from envcheck.knowledge.driver import driver_supports, same_major_above_minimum
from envcheck.knowledge.loading import load
from envcheck.knowledge.versions import minor_of, variant_cuda, version_tuple


class VariantChoice(NamedTuple):
    variant: str  # "cu126"
    index_url: str  # "https://download.pytorch.org/whl/cu126"


# ---------------------------------------------------------------- index URLs and variants


def index_url(variant: str, channel: str = "release") -> str:
    """The pip index of a variant: index_url("cu126") -> "https://download.pytorch.org/whl/cu126"."""
    return load("torch_wheels")["index_url"][channel].format(variant=variant)


def install_command(variant: str, torch_pin: str | None = None, torchvision_pin: str | None = None) -> str:
    torch = f"torch=={torch_pin}" if torch_pin else "torch"
    vision = f"torchvision=={torchvision_pin}" if torchvision_pin else "torchvision"
    return f"pip install {torch} {vision} --index-url {index_url(variant)}"


def known_torch_releases() -> list[str]:
    """The torch minors the wheel table covers, oldest first."""
    return sorted(load("torch_wheels")["releases"], key=version_tuple)


def wheel_variants(torch: str) -> list[str] | None:
    """CUDA variants published for a torch release, oldest CUDA first; None if the release is unknown."""
    row = load("torch_wheels")["releases"].get(minor_of(torch) or "")
    if row is None:
        return None
    return sorted(row["variants"], key=lambda v: version_tuple(variant_cuda(v)))


def wheel_cudnn(torch: str, variant: str) -> str | None:
    """The cuDNN a torch release's variant ships ("2.14", "cu130" -> "9.24.0.43"); None when unknown."""
    row = load("torch_wheels")["releases"].get(minor_of(torch) or "")
    return None if row is None else row["variants"].get(variant)


def pypi_default_variant(torch: str) -> str | None:
    """The variant a plain `pip install torch` from PyPI gives on Linux x86_64; None when unknown."""
    row = load("torch_wheels")["releases"].get(minor_of(torch) or "")
    return None if row is None else row.get("pypi_default")


def best_variant_for_driver(torch: str, driver_cuda: str | None, driver_version: str | None = None) -> VariantChoice | None:
    """The newest variant of this torch the driver runs: fully supported first, else through
    minor-version compatibility; None when no variant fits or the facts are unknown.

    best_variant_for_driver("2.14", "12.4") -> ("cu126", "https://download.pytorch.org/whl/cu126").
    """
    variants = wheel_variants(torch)
    if not variants or not driver_cuda:
        return None
    full, compat = [], []
    for variant in variants:
        cuda = variant_cuda(variant)
        verdict = driver_supports(cuda, driver_cuda, driver_version).verdict
        if verdict == "ok":
            full.append(variant)
        elif verdict == "minor_compat" or (verdict == "unknown" and same_major_above_minimum(cuda, driver_cuda)):
            compat.append(variant)
    chosen = (full or compat or [None])[-1]
    return None if chosen is None else VariantChoice(chosen, index_url(chosen))


# ---------------------------------------------------------------- torchvision pairing


def torchvision_for_torch(torch: str) -> str | None:
    """torchvision minor paired with a torch release ("2.13" -> "0.28"); None when unknown."""
    row = load("torch_torchvision")["pairs"].get(minor_of(torch) or "")
    return None if row is None else row.get("torchvision")


def torchvision_patch_pair(torch_version: str) -> str | None:
    """The exact torchvision release paired with a torch patch release ("2.1.2" -> "0.16.2"), where
    the data lists one; None otherwise (callers then compare minors)."""
    parts = version_tuple(torch_version)
    if not parts:
        return None
    key = ".".join(str(p) for p in (parts + (0, 0))[:3])
    return load("torch_torchvision")["patch_pairs"].get(key)
