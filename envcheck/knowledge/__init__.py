"""Compatibility knowledge (driver/CUDA/torch/torchvision/arch/Python) as data, with answers.

The tables live in the YAML files beside this module, each naming its sources; docs/knowledge.md
says how to update them. They are validated when this module is imported, so a malformed edit
fails the test suite at once instead of producing a wrong answer in someone's report.

Every helper returns None for "unknown" (a `?` cell in compat.md, or a release the data does not
cover). Callers must say "unknown" then, never fill the gap.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

HERE = Path(__file__).resolve().parent
FILES = ("cuda_driver", "torch_torchvision", "torch_wheels", "arch_lists", "compute_capability", "python_support")

_MINOR = re.compile(r"^\d+\.\d+$")
_DRIVER = re.compile(r"^\d+(\.\d+){0,2}$")
_VARIANT = re.compile(r"^cu(\d+)$")


class KnowledgeError(RuntimeError):
    """A data file is malformed: a bug in envcheck's shipped data, not the user's problem."""


class VariantChoice(NamedTuple):
    variant: str  # "cu126"
    index_url: str  # "https://download.pytorch.org/whl/cu126"


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    """'590.48.01' -> (590, 48, 1); '2.14.1+cu130' -> (2, 14, 1); None when there are no digits."""
    if not text:
        return None
    match = re.match(r"^\s*(\d+(?:\.\d+)*)", str(text))
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def minor_of(version: str | None) -> str | None:
    """'2.14.1+cu130' -> '2.14'; '12.8' -> '12.8'."""
    parts = version_tuple(version)
    if not parts or len(parts) < 2:
        return None
    return f"{parts[0]}.{parts[1]}"


def variant_of(torch_version: str | None) -> str | None:
    """The local tag of a torch version: '2.14.1+cu130' -> 'cu130', '+cpu' -> 'cpu', none -> None."""
    if not torch_version or "+" not in torch_version:
        return None
    return torch_version.split("+", 1)[1] or None


def variant_cuda(variant: str) -> str | None:
    """'cu126' -> '12.6', 'cu118' -> '11.8', 'cu92' -> '9.2'; None for cpu/rocm."""
    match = _VARIANT.match(variant or "")
    if not match:
        return None
    digits = match.group(1)
    return f"{digits[:-1]}.{digits[-1]}"


# ---------------------------------------------------------------- loading and validation


def _fail(name: str, message: str) -> None:
    raise KnowledgeError(f"envcheck/knowledge/{name}.yaml: {message}")


def _check_sources(name: str, doc: dict) -> None:
    sources = doc.get("sources")
    if not isinstance(sources, list) or not sources:
        _fail(name, "needs a non-empty `sources:` list")
    for entry in sources:
        if not isinstance(entry, dict) or not entry.get("key") or not entry.get("url") or not entry.get("title"):
            _fail(name, f"every source needs key, title and url: {entry!r}")


def _check_minor_or_none(name: str, where: str, value: Any) -> None:
    if value is not None and not (isinstance(value, str) and _MINOR.match(value)):
        _fail(name, f"{where}: expected a quoted 'X.Y' or null, got {value!r}")


def _validate(name: str, doc: Any) -> None:
    if not isinstance(doc, dict):
        _fail(name, "top level must be a mapping")
    _check_sources(name, doc)
    if name == "cuda_driver":
        for cuda, row in doc["cuda"].items():
            _check_minor_or_none(name, "cuda key", cuda)
            for key in ("toolkit_driver", "toolkit_driver_latest", "minor_compat_min"):
                value = row.get(key, "missing")
                if value is not None and not (isinstance(value, str) and _DRIVER.match(value)):
                    _fail(name, f"cuda {cuda}: {key} must be a quoted driver version or null, got {value!r}")
            if row["toolkit_driver"] is None:
                _fail(name, f"cuda {cuda}: a row without a toolkit driver should not exist")
        for major, row in doc["minor_compat_by_major"].items():
            if not str(major).isdigit() or not _DRIVER.match(str(row.get("min"))):
                _fail(name, f"minor_compat_by_major {major!r}: needs a driver version `min`")
    elif name == "torch_torchvision":
        for torch, row in doc["pairs"].items():
            _check_minor_or_none(name, "torch key", torch)
            _check_minor_or_none(name, f"{torch} torchvision", row.get("torchvision", "missing"))
            python = row.get("python", "missing")
            if python is not None and not (isinstance(python, list) and len(python) == 2):
                _fail(name, f"{torch}: python must be [low, high] or null")
            if row.get("torchvision") is None and not row.get("note"):
                _fail(name, f"{torch}: an unknown pairing needs a note saying why")
    elif name == "torch_wheels":
        if "{variant}" not in doc["index_url"]["release"]:
            _fail(name, "index_url.release must contain {variant}")
        for torch, row in doc["releases"].items():
            _check_minor_or_none(name, "torch key", torch)
            variants = row.get("variants")
            if not isinstance(variants, dict) or not variants:
                _fail(name, f"{torch}: needs variants")
            for variant, cudnn in variants.items():
                if not _VARIANT.match(variant):
                    _fail(name, f"{torch}: bad variant {variant!r}")
                if cudnn is not None and not _DRIVER.match(str(cudnn)) and not re.match(r"^\d+(\.\d+){3}$", str(cudnn)):
                    _fail(name, f"{torch} {variant}: bad cuDNN version {cudnn!r}")
            default = row.get("pypi_default", "missing")
            if default is not None and default not in variants:
                _fail(name, f"{torch}: pypi_default {default!r} is not one of its variants")
    elif name == "arch_lists":
        for torch, variants in doc["releases"].items():
            _check_minor_or_none(name, "torch key", torch)
            for variant, cell in variants.items():
                archs = cell.get("archs", "missing")
                if archs is None:
                    if not cell.get("note"):
                        _fail(name, f"{torch} {variant}: an unknown list needs a note saying why")
                    continue
                if not isinstance(archs, list) or not archs:
                    _fail(name, f"{torch} {variant}: archs must be a list or null")
                for cc in archs:
                    _check_minor_or_none(name, f"{torch} {variant}", cc)
                if cell.get("source") not in {s["key"] for s in doc["sources"]}:
                    _fail(name, f"{torch} {variant}: source must be one of the listed source keys")
    elif name == "compute_capability":
        for arch, ccs in doc["architectures"].items():
            for cc in ccs:
                _check_minor_or_none(name, arch, cc)
    elif name == "python_support":
        for torch, row in doc["releases"].items():
            _check_minor_or_none(name, "torch key", torch)
            low, high = row["validated"]
            _check_minor_or_none(name, f"{torch} validated", low)
            _check_minor_or_none(name, f"{torch} validated", high)


@lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    if name not in FILES:
        raise KeyError(f"no knowledge file named {name!r}")
    path = HERE / f"{name}.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot be read: {exc}") from exc
    _validate(name, doc)
    return doc


def sources(name: str) -> list[dict[str, str]]:
    return list(load(name)["sources"])


for _name in FILES:
    load(_name)


# ---------------------------------------------------------------- driver and CUDA


def min_driver_for_cuda(cuda: str) -> tuple[str, str | None] | None:
    """(toolkit driver for full support, minor-version-compat minimum or None), or None if unknown.

    min_driver_for_cuda("12.8") -> ("570.26", "525").
    """
    row = load("cuda_driver")["cuda"].get(minor_of(cuda) or "")
    if row is None:
        return None
    return row["toolkit_driver"], row["minor_compat_min"]


def minor_compat_min_for_major(major: int | str) -> str | None:
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


class DriverVerdict(NamedTuple):
    verdict: str  # "ok" | "minor_compat" | "too_old" | "unknown"
    needed_driver: str | None  # the driver that gives full support for the wheel's CUDA
    minor_compat_min: str | None


def driver_supports(wheel_cuda: str, driver_cuda: str | None, driver_version: str | None = None) -> DriverVerdict:
    """compat.md section 1 rule: driver CUDA >= wheel CUDA is fine; same major with a lower minor
    works through minor-version compatibility if the driver meets that major's minimum; a newer
    wheel major fails."""
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


# ---------------------------------------------------------------- torch wheels and torchvision


def index_url(variant: str, channel: str = "release") -> str:
    return load("torch_wheels")["index_url"][channel].format(variant=variant)


def install_command(variant: str, torch_pin: str | None = None, torchvision_pin: str | None = None) -> str:
    torch = f"torch=={torch_pin}" if torch_pin else "torch"
    vision = f"torchvision=={torchvision_pin}" if torchvision_pin else "torchvision"
    return f"pip install {torch} {vision} --index-url {index_url(variant)}"


def known_torch_releases() -> list[str]:
    return sorted(load("torch_wheels")["releases"], key=version_tuple)


def wheel_variants(torch: str) -> list[str] | None:
    """CUDA variants published for a torch release, oldest CUDA first; None if the release is unknown."""
    row = load("torch_wheels")["releases"].get(minor_of(torch) or "")
    if row is None:
        return None
    return sorted(row["variants"], key=lambda v: version_tuple(variant_cuda(v)))


def wheel_cudnn(torch: str, variant: str) -> str | None:
    row = load("torch_wheels")["releases"].get(minor_of(torch) or "")
    return None if row is None else row["variants"].get(variant)


def pypi_default_variant(torch: str) -> str | None:
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
        elif verdict == "minor_compat" or (verdict == "unknown" and _same_major_above_minimum(cuda, driver_cuda)):
            compat.append(variant)
    chosen = (full or compat or [None])[-1]
    return None if chosen is None else VariantChoice(chosen, index_url(chosen))


def _same_major_above_minimum(wheel_cuda: str, driver_cuda: str) -> bool:
    # Without the driver version, a driver reporting CUDA 12.x is at least the 12.0 GA driver,
    # which is the 12.x minor-compat minimum; 13.x likewise (580). Only claim it where the
    # major's minimum is not above its .0 toolkit driver.
    wheel, have = version_tuple(wheel_cuda), version_tuple(driver_cuda)
    if not wheel or not have or wheel[0] != have[0]:
        return False
    compat_min = minor_compat_min_for_major(wheel[0])
    base = min_driver_for_cuda(f"{wheel[0]}.0")
    return bool(compat_min and base and version_tuple(compat_min) <= version_tuple(base[0]))


def torchvision_for_torch(torch: str) -> str | None:
    """torchvision minor paired with a torch release ("2.13" -> "0.28"); None when unknown."""
    row = load("torch_torchvision")["pairs"].get(minor_of(torch) or "")
    return None if row is None else row.get("torchvision")


def torchvision_patch_pair(torch_version: str) -> str | None:
    parts = version_tuple(torch_version)
    if not parts:
        return None
    key = ".".join(str(p) for p in (parts + (0, 0))[:3])
    return load("torch_torchvision")["patch_pairs"].get(key)


# ---------------------------------------------------------------- GPU architectures


def _cc(text: str) -> tuple[int, int] | None:
    parts = version_tuple(text)
    if not parts or len(parts) < 2:
        return None
    return parts[0], parts[1]


def arch_list(torch: str, variant: str) -> list[str] | None:
    """get_arch_list()-style entries ("sm_75", ..., "compute_120" for PTX) of a published wheel;
    None when unknown."""
    cell = load("arch_lists")["releases"].get(minor_of(torch) or "", {}).get(variant)
    if not cell or cell.get("archs") is None:
        return None
    entries = [f"sm_{cc.replace('.', '')}" for cc in cell["archs"]]
    if cell.get("ptx"):
        entries.append(f"compute_{cell['ptx'].replace('.', '')}")
    return entries


def _entry_cc(entry: str) -> tuple[str, tuple[int, int]] | None:
    match = re.match(r"^(sm|compute)_(\d+)(\d)[a-z]?$", entry.strip())
    if not match:
        return None
    return match.group(1), (int(match.group(2)), int(match.group(3)))


def covers(arches: list[str], capability: str) -> str | None:
    """How a wheel's arch list serves a device: "cubin" (native code), "ptx" (JIT-compiled from
    PTX at first use), or None (no kernel image: "no kernel image is available...").

    A cubin for sm_XY runs on devices of the same major with minor >= Y [TORCH-CUDA], except the
    DEVICE_REQUIREMENT cases in arch_lists.yaml; PTX for compute_XY JIT-compiles for any newer CC.
    """
    device = _cc(capability)
    if device is None:
        return None
    exceptions = load("arch_lists")["cubin_exceptions"]
    device_text = f"{device[0]}.{device[1]}"
    found_ptx = False
    for entry in arches:
        parsed = _entry_cc(entry)
        if parsed is None:
            continue
        kind, code = parsed
        code_text = f"{code[0]}.{code[1]}"
        rule = exceptions.get(code_text, {})
        if kind == "sm":
            if code[0] != device[0] or code[1] > device[1]:
                continue
            if device_text in rule.get("not_on", []):
                continue
            if "only_on" in rule and device_text not in rule["only_on"]:
                continue
            return "cubin"
        if kind == "compute" and code <= device:
            found_ptx = True
    return "ptx" if found_ptx else None


def variants_covering(torch: str, capability: str) -> list[str] | None:
    """Variants of this torch release whose (known) arch list has native code for the device,
    oldest CUDA first; None when no arch list of that release is known."""
    variants = wheel_variants(torch) or []
    known = [(v, arch_list(torch, v)) for v in variants]
    if all(arches is None for _, arches in known):
        return None
    return [v for v, arches in known if arches and covers(arches, capability) == "cubin"]


def architecture_of(capability: str) -> str | None:
    """'9.0' -> 'Hopper'; None when the table does not list that CC."""
    wanted = _cc(capability)
    for name, ccs in load("compute_capability")["architectures"].items():
        if any(_cc(cc) == wanted for cc in ccs):
            return name
    return None


# ---------------------------------------------------------------- Python


def python_range(torch: str) -> tuple[str, str] | None:
    """Lowest and highest CPython minor with validated wheels for a torch release [TI]."""
    row = load("python_support")["releases"].get(minor_of(torch) or "")
    if row is None:
        return None
    low, high = row["validated"]
    return low, high


def python_supported(torch: str, python: str) -> bool | None:
    bounds = python_range(torch)
    have = _cc(python)
    if bounds is None or have is None:
        return None
    return _cc(bounds[0]) <= have <= _cc(bounds[1])


def newest_torch_for_python(python: str) -> str | None:
    """The newest torch release (in the data) with validated wheels for this Python, or None."""
    for torch in reversed(sorted(load("python_support")["releases"], key=version_tuple)):
        if python_supported(torch, python):
            return torch
    return None
