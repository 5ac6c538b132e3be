"""Version strings as the knowledge tables and their callers use them.

PEP 440 versions (torch "2.14.1+cu130", nightlies "2.6.0.dev20241001+cu124", "2.0.0a0+gitabc") are
parsed with `packaging.version.Version`. Version strings that are not PEP 440 but start with
digits (NVIDIA driver "590.48.01 (beta)", Python "3.14t") fall back to their leading dotted digits,
so every helper answers for anything that starts like a version and returns None for the rest.
"""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

_LEADING_DIGITS = re.compile(r"^\s*(\d+(?:\.\d+)*)")
_VARIANT = re.compile(r"^cu(\d+)$")


def canonical_name(name: str) -> str:
    """PEP 503 normalised project name: 'PyYAML' -> 'pyyaml', 'nvidia_ml.py' -> 'nvidia-ml-py'.

    envcheck/target/pyinfo.py and envcheck/target/pkginfo.py keep a standard-library copy of this rule because
    they run inside the diagnosed interpreter, where neither envcheck nor packaging may exist.
    """
    return str(canonicalize_name(name))


def _parse(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    """The release numbers of a version, None when it does not start with one.

    '590.48.01' -> (590, 48, 1); '2.14.1+cu130' -> (2, 14, 1); '2.6.0.dev20241001' -> (2, 6, 0);
    '3.14t' -> (3, 14); 'abc' -> None.
    """
    if not text:
        return None
    text = str(text)
    parsed = _parse(text)
    if parsed is not None:
        return parsed.release
    match = _LEADING_DIGITS.match(text)
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def minor_of(version: str | None) -> str | None:
    """'2.14.1+cu130' -> '2.14'; '12.8' -> '12.8'; '2.6.0.dev20241001' -> '2.6'; '2' -> None."""
    parts = version_tuple(version)
    if not parts or len(parts) < 2:
        return None
    return f"{parts[0]}.{parts[1]}"


def major_minor(text: str | None) -> tuple[int, int] | None:
    """A compute capability or Python version as (major, minor): '8.6' -> (8, 6); '3.11.7' -> (3, 11)."""
    parts = version_tuple(text)
    if not parts or len(parts) < 2:
        return None
    return parts[0], parts[1]


def variant_of(torch_version: str | None) -> str | None:
    """The local label of a torch version: '2.14.1+cu130' -> 'cu130', '2.4.0+cpu' -> 'cpu', none -> None.

    A PEP 440 local label is normalised as pip compares it ('+CU121' -> 'cu121'); a version
    packaging cannot parse keeps the text after its first '+'.
    """
    if not torch_version or "+" not in torch_version:
        return None
    parsed = _parse(torch_version)
    if parsed is not None:
        return parsed.local
    return torch_version.split("+", 1)[1] or None


def variant_cuda(variant: str) -> str | None:
    """'cu126' -> '12.6', 'cu118' -> '11.8', 'cu92' -> '9.2'; None for cpu/rocm."""
    match = _VARIANT.match(variant or "")
    if not match:
        return None
    digits = match.group(1)
    return f"{digits[:-1]}.{digits[-1]}"
