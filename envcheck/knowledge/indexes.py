"""Which torch builds a pip index can give, from package_indexes.yaml (the mirrors' own pages, PyPI
and pytorch/test-infra): a PyPI mirror gives PyPI's default build, download.pytorch.org/whl/<variant>
and its mirrors give that variant, anything else is unknown.

    builds_from("https://pypi.tuna.tsinghua.edu.cn/simple")           -> "pypi-default"
    builds_from("https://mirrors.aliyun.com/pytorch-wheels/cu126/")   -> "cu126"
    builds_from("https://pypi.example.com/simple")                    -> None
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from envcheck.knowledge.loading import (
    KnowledgeError,
    ListOf,
    Record,
    Text,
    _Invalid,
    _show,
    _where,
    data_file,
)

PYPI_DEFAULT = "pypi-default"
FILE = Path(__file__).resolve().parent / "package_indexes.yaml"
HOST = Text("a host name like pypi.org", r"[a-z0-9.-]+")
_VARIANT = re.compile(r"^(cu\d+|cpu)$")


def _source_listed(row: dict, doc: dict) -> str | None:
    keys = [source["key"] for source in doc["sources"]]
    return None if row["source"] in keys else f"source must be one of the keys under `sources:` ({', '.join(keys)}), got {row['source']!r}"


SCHEMA = data_file(
    pypi=ListOf(Record({"host": HOST, "path": Text("a path like /simple", r"/\S*"), "source": Text()},
                       rules=(_source_listed,))),
    pytorch=ListOf(Record({"host": HOST, "prefix": Text("a path ending in / like /whl/", r"/\S*/"),
                           "channels": ListOf(Text(), min_len=0), "source": Text()}, rules=(_source_listed,))),
)


def validate(doc: Any) -> None:
    """Raise KnowledgeError naming the place and the problem unless `doc` fits SCHEMA."""
    if not isinstance(doc, dict):
        raise KnowledgeError(f"envcheck/knowledge/package_indexes.yaml: the top level must be a mapping, got {_show(doc)}")
    try:
        SCHEMA.check(doc, (), doc)
    except _Invalid as exc:
        what = exc.message if exc.expected is None else f"expected {exc.expected}, got {_show(exc.got)}"
        raise KnowledgeError(f"envcheck/knowledge/package_indexes.yaml: {_where(exc.path)}: {what}") from None


@lru_cache(maxsize=None)
def load() -> dict:
    """The table, read and validated once (shared: do not modify it)."""
    try:
        doc = yaml.safe_load(FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{FILE}: cannot be read: {exc}") from exc
    validate(doc)
    return doc


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
