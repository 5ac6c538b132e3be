"""Which torch builds a pip index can give, from package_indexes.yaml (the mirrors' own pages, PyPI
and pytorch/test-infra): a PyPI mirror gives PyPI's default build, download.pytorch.org/whl/<variant>
and its mirrors give that variant, anything else is unknown.

    builds_from("https://pypi.tuna.tsinghua.edu.cn/simple")           -> "pypi-default"
    builds_from("https://mirrors.aliyun.com/pytorch-wheels/cu126/")   -> "cu126"
    builds_from("https://pypi.example.com/simple")                    -> None
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from envcheck.knowledge import loading

PYPI_DEFAULT = "pypi-default"
_VARIANT = re.compile(r"^(cu\d+|cpu)$")


def load() -> dict[str, Any]:
    """package_indexes.yaml, read and validated once like every knowledge file (shared: do not modify it)."""
    return loading.load("package_indexes")


def _parts(url: str) -> tuple[str, list[str]] | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not host or parts.scheme not in ("http", "https"):
        return None
    return host, [p for p in parts.path.split("/") if p]


def _under(segments: list[str], prefix: str) -> list[str] | None:
    """The segments after `prefix` when the path starts with it, else None."""
    wanted = [p for p in prefix.split("/") if p]
    return segments[len(wanted):] if segments[: len(wanted)] == wanted else None


def builds_from(url: str) -> str | None:
    """What torch build the index at `url` gives: "pypi-default" for PyPI and its mirrors, the
    variant ("cu126", "cpu") for download.pytorch.org/whl/<variant> and its mirrors, None when
    unknown (an unlisted host, the root of a PyTorch index, a folder that is no variant)."""
    found = _parts(url)
    if found is None:
        return None
    host, segments = found
    doc = load()
    for row in doc["pypi"]:
        if row["host"] == host and _under(segments, row["path"]) is not None:
            return PYPI_DEFAULT
    for row in doc["pytorch"]:
        rest = _under(segments, row["prefix"]) if row["host"] == host else None
        if not rest:
            continue
        if rest[0] in row["channels"]:
            rest = rest[1:]
        if len(rest) == 1 and _VARIANT.match(rest[0]):
            return rest[0]
    return None


def is_pytorch_channel(url: str) -> str | None:
    """"test" or "nightly" when the URL is a pre-release or nightly PyTorch index, else None."""
    found = _parts(url)
    if found is None:
        return None
    host, segments = found
    for row in load()["pytorch"]:
        rest = _under(segments, row["prefix"]) if row["host"] == host else None
        if rest and rest[0] in row["channels"]:
            return rest[0]
    return None


def pytorch_mirrors(variant: str) -> list[str]:
    """Index URLs of the known copies of download.pytorch.org/whl/<variant> (not the original)."""
    if not _VARIANT.match(variant or ""):
        return []
    return [f"https://{row['host']}{row['prefix']}{variant}" for row in load()["pytorch"] if row["host"] != "download.pytorch.org"]


def index_host(url: str) -> str | None:
    found = _parts(url)
    return found[0] if found else None
