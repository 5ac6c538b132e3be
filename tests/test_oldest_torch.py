"""The declared torch floor: one value in envcheck.util.support, pyproject.toml and ci/oldest-torch.txt.

CI runs the trainer and smoke-train tests a second time in a venv holding exactly the pair in
ci/oldest-torch.txt (see .ci/run); the last test here proves that run really had that torch.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from envcheck.util.support import OLDEST_TORCH, OLDEST_TORCHVISION, below_floor, version_tuple

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "ci" / "oldest-torch.txt").read_text().splitlines():
        match = re.match(r"^(torch|torchvision)==(\S+)", line.strip())
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def test_pyproject_floor_is_the_declared_floor():
    text = (ROOT / "pyproject.toml").read_text()
    torch_floor = re.search(r'"torch>=([\d.]+)"', text).group(1)
    vision_floor = re.search(r'"torchvision>=([\d.]+)"', text).group(1)
    assert version_tuple(torch_floor) == OLDEST_TORCH
    assert version_tuple(vision_floor) == OLDEST_TORCHVISION


def test_ci_pins_the_floor_pair():
    pins = _pins()
    assert version_tuple(pins["torch"]) == OLDEST_TORCH
    assert version_tuple(pins["torchvision"]) == OLDEST_TORCHVISION


def test_floor_pair_is_a_known_release_pair():
    from envcheck import knowledge

    paired = knowledge.torchvision_for_torch(".".join(map(str, OLDEST_TORCH)))
    assert version_tuple(paired) == OLDEST_TORCHVISION
    assert knowledge.torchvision_patch_pair(_pins()["torch"]) == _pins()["torchvision"]


@pytest.mark.parametrize(
    ("name", "version", "refused"),
    [("torch", "2.0.1+cu118", True), ("torch", "1.13.1", True), ("torch", "2.1.0", False),
     ("torch", "2.14.1+cu130", False), ("torchvision", "0.15.2", True), ("torchvision", "0.16.0", False),
     ("torch", "garbage", False), ("torch", None, False)],
)
def test_below_floor(name, version, refused):
    message = below_floor(name, version)
    assert (message is not None) == refused
    if refused:
        assert version in message and "\n" not in message and "pip install" in message


@pytest.mark.skipif(not os.environ.get("ENVCHECK_CI_OLDEST_TORCH"), reason="only in CI's oldest-torch venv")
def test_this_run_has_the_oldest_torch():
    import torch
    import torchvision

    pins = _pins()
    assert torch.__version__.split("+")[0] == pins["torch"]
    assert torchvision.__version__.split("+")[0] == pins["torchvision"]


def test_smoke_train_below_the_floor_says_so_in_one_line(monkeypatch, capsys):
    from importlib import metadata

    from _cli import run_cli

    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "2.0.1+cu118" if name == "torch" else real(name))
    code, out, err = run_cli(["smoke-train", "--cpu"], capsys)
    assert code == 2
    assert "torch 2.0.1+cu118 is older than 2.1" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
