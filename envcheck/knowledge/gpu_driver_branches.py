"""Which NVIDIA driver branch a GPU can still take: the last branch per GPU architecture.

Data: gpu_driver_branches.yaml (NVIDIA's "CUDA Toolkit, Driver, and Architecture Matrix" and its
Unix deprecation schedule; each row names its source). A GPU cannot run a driver from a later
branch, so a fix that says "upgrade the driver" must stay at or below the ceiling this module
gives: a Tesla K80 (Kepler, CC 3.7) stops at R470 (CUDA 11.4), whatever a torch wheel asks for.

The file is validated like every knowledge file (loading.SCHEMAS), when envcheck.knowledge is imported.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from envcheck.knowledge import loading
from envcheck.knowledge.arch import architecture_of
from envcheck.knowledge.versions import major_minor, version_tuple

NAME = "gpu_driver_branches"


def load_branches() -> dict[str, Any]:
    """gpu_driver_branches.yaml, read and validated once (shared: do not modify it)."""
    return loading.load(NAME)


class LastBranch(NamedTuple):
    architecture: str  # "Kepler"
    branch: str  # "470"
    max_cuda: str  # "11.4": the newest CUDA that branch's drivers support
    last_toolkit: str | None  # "11": the last CUDA toolkit major for the architecture
    source_url: str


def _architecture(capability_or_name: str) -> str | None:
    rows = load_branches()["architectures"]
    if capability_or_name in rows:
        return capability_or_name
    wanted = major_minor(capability_or_name)
    if wanted is None:
        return None
    for name, row in rows.items():
        if any(major_minor(cc) == wanted for cc in row.get("capabilities") or []):
            return name
    return architecture_of(capability_or_name)


def last_branch(capability_or_name: str | None) -> LastBranch | None:
    """The last driver branch for a GPU, by compute capability ("3.7") or architecture name
    ("Kepler"); None when no last branch is announced (current branches support it) or the
    architecture is unknown.

    last_branch("3.7") -> LastBranch("Kepler", "470", "11.4", "11", "https://docs.nvidia.com/...").
    """
    if not capability_or_name:
        return None
    name = _architecture(str(capability_or_name))
    row = load_branches()["architectures"].get(name or "")
    if row is None or row["last_branch"] is None:
        return None
    urls = {source["key"]: source["url"] for source in load_branches()["sources"]}
    return LastBranch(name, row["last_branch"], row["max_cuda"], row.get("last_toolkit"), urls[row["source"]])


def branch_ceiling(capabilities: Iterable[str | None]) -> LastBranch | None:
    """The lowest last branch among these GPUs: the newest driver branch all of them can take;
    None when none of them has an announced last branch."""
    found = [b for b in (last_branch(cc) for cc in capabilities) if b is not None]
    return min(found, key=lambda b: int(b.branch)) if found else None


def branch_of(driver_version: str | None) -> str | None:
    """The branch of a driver version: "470.82.01" -> "470"."""
    parts = version_tuple(driver_version)
    return str(parts[0]) if parts else None


def driver_within(driver_version: str | None, ceiling: LastBranch | None) -> bool | None:
    """Whether a driver version is in a branch the GPU can take (None when either is unknown)."""
    if ceiling is None or not version_tuple(driver_version):
        return None
    return version_tuple(driver_version)[0] <= int(ceiling.branch)


__all__ = ["LastBranch", "branch_ceiling", "branch_of", "driver_within", "last_branch", "load_branches"]
