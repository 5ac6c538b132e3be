"""Which NVIDIA driver branch a GPU can still take: the last branch per GPU architecture.

Data: gpu_driver_branches.yaml (NVIDIA's "CUDA Toolkit, Driver, and Architecture Matrix" and its
Unix deprecation schedule; each row names its source). A GPU cannot run a driver from a later
branch, so a fix that says "upgrade the driver" must stay at or below the ceiling this module
gives: a Tesla K80 (Kepler, CC 3.7) stops at R470 (CUDA 11.4), whatever a torch wheel asks for.

The file is read and checked with the schema language of loading.py, but kept out of its FILES
list (loading.py belongs to the wheel tables); `load_branches()` validates it on first use and a
malformed edit raises KnowledgeError naming the file and the place.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, NamedTuple

import yaml

from envcheck.knowledge.arch import architecture_of
from envcheck.knowledge.loading import (
    HERE,
    MAJOR,
    MINOR,
    NOTE,
    KnowledgeError,
    ListOf,
    MapOf,
    Nullable,
    Record,
    Text,
    data_file,
)
from envcheck.knowledge.versions import major_minor, version_tuple

NAME = "gpu_driver_branches"
BRANCH = Text('a quoted driver branch like "470"', r"\d+")


def _source_is_listed(row: dict, doc: dict) -> str | None:
    keys = [source["key"] for source in doc["sources"]]
    if row.get("last_branch") is not None and row.get("source") not in keys:
        return f"source must be one of the keys under `sources:` ({', '.join(keys)}), got {row.get('source')!r}"
    if row.get("last_branch") is None and not row.get("note"):
        return "an architecture without a last branch (last_branch: null) needs a note saying why"
    if (row.get("last_branch") is None) != (row.get("max_cuda") is None):
        return "last_branch and max_cuda are both known or both null"
    return None


SCHEMA = data_file(
    architectures=MapOf(Text("an architecture name"), Record(
        {"last_branch": Nullable(BRANCH), "max_cuda": Nullable(MINOR), "last_toolkit": Nullable(MAJOR)},
        {"capabilities": ListOf(MINOR), "source": Text(), "note": NOTE},
        rules=(_source_is_listed,))),
)


def validate_branches(doc: Any) -> None:
    """Raise KnowledgeError unless `doc` fits SCHEMA (same messages as loading.validate)."""
    from envcheck.knowledge import loading

    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), list) or not doc["sources"]:
        raise KnowledgeError(f"envcheck/knowledge/{NAME}.yaml: needs a non-empty `sources:` list "
                             "({key, title, url} each) naming where its facts come from")
    try:
        SCHEMA.check(doc, (), doc)
    except loading._Invalid as exc:  # noqa: SLF001 - the same package's schema language
        what = exc.message if exc.expected is None else f"expected {exc.expected}, got {loading._show(exc.got)}"
        raise KnowledgeError(f"envcheck/knowledge/{NAME}.yaml: {loading._where(exc.path)}: {what}") from None


@lru_cache(maxsize=None)
def load_branches() -> dict[str, Any]:
    """gpu_driver_branches.yaml, read and validated once (shared: do not modify it)."""
    path = HERE / f"{NAME}.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot be read: {exc}") from exc
    validate_branches(doc)
    return doc


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


__all__ = ["LastBranch", "branch_ceiling", "branch_of", "driver_within", "last_branch", "load_branches", "validate_branches"]
