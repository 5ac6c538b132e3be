"""GPU architectures: the `sm_` lists of the published wheels, whether a list serves a device's
compute capability (torch's own rule), and which architecture a capability belongs to.

Data: arch_lists.yaml (wheel build scripts and RELEASE.md's CUDA support matrix; torch's
torch/cuda/__init__.py for the rule) and compute_capability.yaml (https://developer.nvidia.com/cuda-gpus).
"""

from __future__ import annotations

import re

from envcheck.knowledge.loading import load
from envcheck.knowledge.versions import major_minor, minor_of
from envcheck.knowledge.wheels import wheel_variants


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


def _entry_cc(entry: str) -> tuple[str, tuple[int, int], str] | None:
    """("sm" or "compute", (major, minor), suffix) of an arch-list entry: "sm_90a" -> ("sm", (9, 0), "a")."""
    match = re.match(r"^(sm|compute)_(\d+)(\d)([a-z]?)$", entry.strip())
    if not match:
        return None
    return match.group(1), (int(match.group(2)), int(match.group(3))), match.group(4)


def covers(arches: list[str], capability: str) -> str | None:
    """How a wheel's arch list serves a device: "cubin" (native code), "ptx" (JIT-compiled from
    PTX at first use), or None (no kernel image: "no kernel image is available...").

    A cubin for sm_XY runs on devices of the same major with minor >= Y [TORCH-CUDA], except the
    DEVICE_REQUIREMENT cases in arch_lists.yaml; PTX for compute_XY JIT-compiles for any newer CC.
    """
    device = major_minor(capability)
    if device is None:
        return None
    exceptions = load("arch_lists")["cubin_exceptions"]
    device_text = f"{device[0]}.{device[1]}"
    found_ptx = False
    for entry in arches:
        parsed = _entry_cc(entry)
        if parsed is None:
            continue
        kind, code, suffix = parsed
        if suffix == "a" and code != device:
            # Architecture-specific code (sm_90a) runs only on exactly that capability (CUDA C
            # Programming Guide, "Feature Availability"); family code (sm_100f) follows the
            # same-major rule below.
            continue
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
    wanted = major_minor(capability)
    for name, ccs in load("compute_capability")["architectures"].items():
        if any(major_minor(cc) == wanted for cc in ccs):
            return name
    return None
