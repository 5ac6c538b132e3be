"""The oldest torch/torchvision envcheck's trainer and smoke-train support, in one place.

pyproject.toml's `[train]` extra declares the same floor (torch>=2.1, torchvision>=0.16) and
ci/oldest-torch.txt pins that pair for the CI run that proves it; tests/test_oldest_torch.py keeps
the three in agreement. The doctor diagnoses any torch; only running the trainer needs the floor.
Pairing source: the torch <-> torchvision table of https://github.com/pytorch/vision (README,
"Installation"): torch 2.1 <-> torchvision 0.16.
"""

from __future__ import annotations

import re

from envcheck.i18n import _

OLDEST_TORCH = (2, 1)
OLDEST_TORCHVISION = (0, 16)


def version_tuple(text: str | None) -> tuple[int, int] | None:
    """'2.1.2+cu121' -> (2, 1); '2.0.0a0+gitabc' -> (2, 0); None for anything without major.minor."""
    match = re.match(r"\s*(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def below_floor(name: str, version: str | None) -> str | None:
    """One sentence when `version` of torch/torchvision is older than the supported floor, else None."""
    floor = OLDEST_TORCH if name == "torch" else OLDEST_TORCHVISION
    found = version_tuple(version)
    if found is None or found >= floor:
        return None
    need = ".".join(map(str, floor))
    command = (f"`pip install \"torch>={'.'.join(map(str, OLDEST_TORCH))}\" "
               f"\"torchvision>={'.'.join(map(str, OLDEST_TORCHVISION))}\"`")
    return _("{name} {version} is older than {need}, the oldest {name} smoke-train and reference_train support; "
             "upgrade with {command} ({doctor} still diagnoses this torch).").format(
        name=name, version=version, need=need, command=command, doctor="`envcheck doctor`")
