"""Reading the YAML tables beside this module, and checking each against its schema.

SCHEMAS below says, per file, which keys it has and what each value must be; `validate` walks a
loaded file along it. A mistake is reported as the file, the path inside it and what is wrong:

    envcheck/knowledge/cuda_driver.yaml: cuda["12.8"].toolkit_driver: expected a quoted driver
    version like "570.26", got 570.26 (a float: quote it)

Every file must also start with `sources:`, a non-empty list of {key, title, url}: the release
notes and files its facts were taken from (docs/knowledge.md says how to add a row).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

HERE = Path(__file__).resolve().parent
FILES = ("cuda_driver", "torch_torchvision", "torch_wheels", "arch_lists", "compute_capability", "python_support",
         "gpu_driver_branches", "package_indexes", "gpu_peaks")

# libyaml's loader where PyYAML was built with it: it loads the six files in a fraction of the time.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeError(RuntimeError):
    """A data file is malformed: a bug in envcheck's shipped data, not the user's problem."""


# ---------------------------------------------------------------- the schema language

Location = tuple  # the keys and list indices from the top of a file down to one value


def _where(path: Location) -> str:
    if not path:
        return "top level"
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value!r} (a float: quote it)"
    if isinstance(value, bool):
        return f"{value!r} (a boolean)"
    if isinstance(value, int):
        return f"{value!r} (a number: quote it)"
    return f"{value!r} ({type(value).__name__})"


class _Invalid(Exception):
    def __init__(self, path: Location, message: str, expected: str | None = None, got: Any = None):
        super().__init__(message)
        self.path, self.message, self.expected, self.got = path, message, expected, got


class Spec:
    """One node of a schema: `check` raises _Invalid at the first value that does not fit."""

    def check(self, value: Any, path: Location, doc: dict) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Spec):
    """A string. With `pattern`, a string matching it; `describe` is what the error says is expected."""

    describe: str = "a non-empty string"
    pattern: str | None = None

    def check(self, value: Any, path: Location, doc: dict) -> None:
        if not isinstance(value, str) or not value or (self.pattern and not re.fullmatch(self.pattern, value)):
            raise _Invalid(path, "", self.describe, value)


@dataclass(frozen=True)
class Number(Spec):
    """A positive number (int or float, not a boolean), at most `maximum` when given."""

    describe: str = "a positive number"
    maximum: float | None = None

    def check(self, value: Any, path: Location, doc: dict) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or \
                (self.maximum is not None and value > self.maximum):
            raise _Invalid(path, "", self.describe, value)


@dataclass(frozen=True)
class Nullable(Spec):
    """`inner`, or null (unknown: no source confirmed it)."""

    inner: Spec

    def check(self, value: Any, path: Location, doc: dict) -> None:
        if value is None:
            return
        try:
            self.inner.check(value, path, doc)
        except _Invalid as exc:
            if exc.path == path and exc.expected:  # the value itself, not something inside it
                exc.expected += " or null"
            raise


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec
    min_len: int = 1
    length: int | None = None  # exactly this many, e.g. [low, high]

    def check(self, value: Any, path: Location, doc: dict) -> None:
        if self.length is not None:
            wanted = f"a list of exactly {self.length}"
        else:
            wanted = "a list" if self.min_len == 0 else "a non-empty list"
        if not isinstance(value, list) or len(value) < self.min_len or (self.length is not None and len(value) != self.length):
            raise _Invalid(path, "", wanted, value)
        for index, item in enumerate(value):
            self.item.check(item, path + (index,), doc)


@dataclass(frozen=True)
class MapOf(Spec):
    """A mapping whose keys all fit `key` and whose values all fit `value` (e.g. one row per release)."""

    key: Spec
    value: Spec
    min_len: int = 1

    def check(self, value: Any, path: Location, doc: dict) -> None:
        if not isinstance(value, dict) or len(value) < self.min_len:
            raise _Invalid(path, "", "a mapping" if self.min_len == 0 else "a non-empty mapping", value)
        for key, item in value.items():
            try:
                self.key.check(key, path, doc)
            except _Invalid as exc:
                raise _Invalid(path, f"key {_show(key)}: expected {exc.expected}") from None
            self.value.check(item, path + (key,), doc)


Rule = Callable[[dict, dict], "str | None"]  # (the mapping, the whole file) -> what is wrong, or None


@dataclass(frozen=True)
class Record(Spec):
    """A mapping with fixed keys. `rules` check what ties its fields together."""

    required: dict[str, Spec]
    optional: dict[str, Spec] = field(default_factory=dict)
    rules: Sequence[Rule] = ()

    def check(self, value: Any, path: Location, doc: dict) -> None:
        if not isinstance(value, dict):
            raise _Invalid(path, "", f"a mapping with {', '.join(self.required) or 'optional'} keys", value)
        missing = [key for key in self.required if key not in value]
        if missing:
            raise _Invalid(path, f"missing {', '.join(f'`{key}:`' for key in missing)}")
        allowed = {**self.required, **self.optional}
        for key, item in value.items():
            if key not in allowed:
                raise _Invalid(path, f"unknown key {_show(key)} (allowed: {', '.join(allowed)})")
            allowed[key].check(item, path + (key,), doc)
        for rule in self.rules:
            problem = rule(value, doc)
            if problem:
                raise _Invalid(path, problem)


# ---------------------------------------------------------------- the value kinds and rules

NOTE = Text("a note (a string)")
MINOR = Text('a quoted "X.Y" like "12.8"', r"\d+\.\d+")
PATCH = Text('a quoted "X.Y.Z" like "2.1.2"', r"\d+\.\d+\.\d+")
MAJOR = Text('a quoted major version like "12"', r"\d+")
DRIVER = Text('a quoted driver version like "570.26"', r"\d+(\.\d+){0,2}")
CUDNN = Text('a quoted cuDNN version like "9.10.2.21"', r"\d+(\.\d+){0,3}")
VARIANT = Text('a CUDA wheel variant like "cu126"', r"cu\d+")
PYTHON_TAG = Text('a Python minor like "3.13" or "3.13t"', r"\d+\.\d+t?")
URL_PATTERN = Text("a URL pattern containing {variant}", r".*\{variant\}.*")
SOURCE = Record({"key": Text(), "title": Text(), "url": Text('an https:// URL', r"https://\S+")})


def _in_order(low_high: list | None) -> bool:
    if not low_high or None in low_high:
        return True
    low, high = (tuple(int(p) for p in v.split(".")) for v in low_high)
    return low <= high


def unknown_needs_note(key: str, what: str) -> Rule:
    """A null `key` must come with a `note:` saying why the fact is unknown."""
    return lambda row, doc: None if row.get(key) is not None or row.get("note") else f"{what} ({key}: null) needs a note saying why"


def range_in_order(key: str) -> Rule:
    return lambda row, doc: None if _in_order(row.get(key)) else f"{key} must be [low, high] with low <= high, got {row.get(key)!r}"


def _pypi_default_is_a_variant(row: dict, doc: dict) -> str | None:
    default = row["pypi_default"]
    if default is not None and default not in row["variants"]:
        return f"pypi_default {default!r} is not one of its variants ({', '.join(row['variants'])})"
    return None


def _source_is_listed(row: dict, doc: dict) -> str | None:
    keys = [source["key"] for source in doc["sources"]]
    if row.get("archs") is not None and row.get("source") not in keys:
        return f"source must be one of the keys under `sources:` ({', '.join(keys)}), got {row.get('source')!r}"
    return None


def _source_keys_unique(top: dict, doc: dict) -> str | None:
    keys = [source["key"] for source in top["sources"]]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    return f"sources: key {', '.join(twice)} is listed more than once" if twice else None


def data_file(**sections: Spec) -> Record:
    """A file's top level: its `sources:` and its sections, all required."""
    return Record({"sources": ListOf(SOURCE), **sections}, rules=(_source_keys_unique,))


def _row_source_listed(row: dict, doc: dict) -> str | None:
    """A row's `source:` names one of the file's `sources:` keys."""
    keys = [source["key"] for source in doc["sources"]]
    return None if row.get("source") in keys else f"source must be one of the keys under `sources:` ({', '.join(keys)}), got {row.get('source')!r}"


def _branch_row(row: dict, doc: dict) -> str | None:
    if row.get("last_branch") is not None:
        return _row_source_listed(row, doc)
    if not row.get("note"):
        return "an architecture without a last branch (last_branch: null) needs a note saying why"
    return None


def _branch_and_cuda_together(row: dict, doc: dict) -> str | None:
    if (row.get("last_branch") is None) != (row.get("max_cuda") is None):
        return "last_branch and max_cuda are both known or both null"
    return None


BRANCH = Text('a quoted driver branch like "470"', r"\d+")
HOST = Text("a host name like pypi.org", r"[a-z0-9.-]+")


# ---------------------------------------------------------------- one schema per file

SCHEMAS: dict[str, Record] = {
    "cuda_driver": data_file(
        cuda=MapOf(MINOR, Record(
            {"toolkit_driver": DRIVER, "toolkit_driver_latest": Nullable(DRIVER), "minor_compat_min": Nullable(DRIVER)},
            {"note": NOTE})),
        minor_compat_by_major=MapOf(MAJOR, Record({"min": DRIVER}, {"below": Nullable(DRIVER), "note": NOTE})),
    ),
    "torch_torchvision": data_file(
        pairs=MapOf(MINOR, Record(
            {"torchvision": Nullable(MINOR), "python": Nullable(ListOf(MINOR, length=2))},
            {"note": NOTE},
            rules=(unknown_needs_note("torchvision", "an unknown pairing"), range_in_order("python")))),
        patch_pairs=MapOf(PATCH, PATCH),
    ),
    "torch_wheels": data_file(
        index_url=Record({"release": URL_PATTERN}, {"test": URL_PATTERN, "nightly": URL_PATTERN, "install_command": URL_PATTERN}),
        releases=MapOf(MINOR, Record(
            {"variants": MapOf(VARIANT, Nullable(CUDNN)), "pypi_default": Nullable(VARIANT)},
            {"note": NOTE},
            rules=(_pypi_default_is_a_variant,))),
    ),
    "arch_lists": data_file(
        releases=MapOf(MINOR, MapOf(VARIANT, Record(
            {"archs": Nullable(ListOf(MINOR))},
            {"ptx": MINOR, "source": Text(), "note": NOTE},
            rules=(unknown_needs_note("archs", "an unknown arch list"), _source_is_listed)))),
        cubin_exceptions=MapOf(MINOR, Record({}, {"not_on": ListOf(MINOR), "only_on": ListOf(MINOR)})),
    ),
    "compute_capability": data_file(
        architectures=MapOf(Text("an architecture name"), MapOf(MINOR, Text("example products (a string)"))),
    ),
    "python_support": data_file(
        releases=MapOf(MINOR, Record(
            {"validated": ListOf(MINOR, length=2)},
            {"release_md": ListOf(Nullable(MINOR), length=2), "experimental": ListOf(PYTHON_TAG),
             "requires_python": Text("a requires_python specifier like \">=3.10\""), "note": NOTE},
            rules=(range_in_order("validated"), range_in_order("release_md")))),
    ),
    "gpu_driver_branches": data_file(
        architectures=MapOf(Text("an architecture name"), Record(
            {"last_branch": Nullable(BRANCH), "max_cuda": Nullable(MINOR), "last_toolkit": Nullable(MAJOR)},
            {"capabilities": ListOf(MINOR), "source": Text(), "note": NOTE},
            rules=(_branch_row, _branch_and_cuda_together))),
    ),
    "gpu_peaks": data_file(
        attainable=MapOf(Text("a figure name"), Number("a share of the peak, 0 to 1", maximum=1)),
        pcie_lane_gbps=MapOf(MAJOR, Number("GB/s per lane")),
        models=ListOf(Record(
            {"model": Text(), "match": ListOf(Text()), "source": Text()},
            {"exclude": ListOf(Text()), "tflops": MapOf(Text("a dtype", r"fp32|tf32|fp16|bf16|fp8"), Number("TFLOP/s"), min_len=0),
             "memory_gbps": Number("GB/s"), "note": NOTE},
            rules=(_row_source_listed,))),
    ),
    "package_indexes": data_file(
        pypi=ListOf(Record({"host": HOST, "path": Text("a path like /simple", r"/\S*"), "source": Text()},
                           rules=(_row_source_listed,))),
        pytorch=ListOf(Record({"host": HOST, "prefix": Text("a path ending in / like /whl/", r"/\S*/"),
                               "channels": ListOf(Text(), min_len=0), "source": Text()}, rules=(_row_source_listed,))),
    ),
}


# ---------------------------------------------------------------- validating and loading


def _fail(name: str, message: str) -> None:
    raise KnowledgeError(f"envcheck/knowledge/{name}.yaml: {message}")


def validate(name: str, doc: Any) -> None:
    """Raise KnowledgeError, naming the file, the place and the problem, unless `doc` fits SCHEMAS[name]."""
    if not isinstance(doc, dict):
        _fail(name, f"the top level must be a mapping, got {_show(doc)}")
    # The rule every table keeps: no fact without the release notes or files it was taken from.
    if not isinstance(doc.get("sources"), list) or not doc["sources"]:
        _fail(name, "needs a non-empty `sources:` list ({key, title, url} each) naming where its facts come from")
    try:
        SCHEMAS[name].check(doc, (), doc)
    except _Invalid as exc:
        what = exc.message if exc.expected is None else f"expected {exc.expected}, got {_show(exc.got)}"
        _fail(name, f"{_where(exc.path)}: {what}")


@lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """One table, read and validated once (the result is shared: do not modify it)."""
    if name not in FILES:
        raise KeyError(f"no knowledge file named {name!r}")
    path = HERE / f"{name}.yaml"
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - _LOADER is a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot be read: {exc}") from exc
    validate(name, doc)
    return doc


def sources(name: str) -> list[dict[str, str]]:
    """The `sources:` of one table: [{key, title, url}, ...]."""
    return list(load(name)["sources"])


def load_all() -> None:
    """Load and validate every table (the package does this on import, so bad data fails at once)."""
    for name in FILES:
        load(name)
