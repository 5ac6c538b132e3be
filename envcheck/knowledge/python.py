"""Python support: which CPython minors have validated wheels for each torch release.

Data: python_support.yaml (the Python column of pytorch/pytorch RELEASE.md and the release
validation lists of pytorch/test-infra generate_binary_build_matrix.py).
"""

from __future__ import annotations

from envcheck.knowledge.loading import load
from envcheck.knowledge.versions import major_minor, minor_of, version_tuple


def python_range(torch: str) -> tuple[str, str] | None:
    """Lowest and highest CPython minor with validated wheels for a torch release [TI]."""
    row = load("python_support")["releases"].get(minor_of(torch) or "")
    if row is None:
        return None
    low, high = row["validated"]
    return low, high


def python_supported(torch: str, python: str) -> bool | None:
    """Whether torch has validated wheels for this Python ("2.14", "3.11.7" -> True); None when unknown."""
    bounds = python_range(torch)
    have = major_minor(python)
    if bounds is None or have is None:
        return None
    return major_minor(bounds[0]) <= have <= major_minor(bounds[1])


def newest_torch_for_python(python: str) -> str | None:
    """The newest torch release (in the data) with validated wheels for this Python, or None."""
    for torch in reversed(sorted(load("python_support")["releases"], key=version_tuple)):
        if python_supported(torch, python):
            return torch
    return None


def newest_release_range() -> tuple[str, str, str]:
    """(torch minor, lowest, highest Python) of the newest torch release in the data [TI]."""
    torch = max(load("python_support")["releases"], key=version_tuple)
    low, high = python_range(torch)
    return torch, low, high
