"""Issue #9: the right root cause, and fixes that work for the person at the keyboard.

- who can carry out a fix (Finding.who, shown in every report format);
- a driver too old for the wheel: the newest torch this driver runs, installed with the target's
  own interpreter, and a driver upgrade only as far as the GPU's last driver branch goes;
- NVML/nvidia-smi error ranking (a version mismatch outranks "library not found");
- GLIBCXX/CXXABI import errors named by the libstdc++ that was loaded;
- torch checks deferring to python.shadowing when torch is a shadowing copy;
- every install command spelled for the target interpreter (`--python`).

Facts come from the fixtures the other test files use: the constructed 2x H100 probe result and
the real nvidia-smi captures (tests/fixtures/probe/README.md, tests/fixtures/nvidia-smi/README.md).
Where a test changes fields to build a scenario, it says where the changed values come from.
"""

from __future__ import annotations

import json

from rich.console import Console

from envcheck.checks import fail, warn
from envcheck.core.model import Facts, Finding, Status
from envcheck.core.render import render_json, render_markdown, render_terminal


# ---------------------------------------------------------------- who can fix it


def test_who_is_rendered_beside_the_fix_and_in_json():
    admin = fail("the kernel module does not match", fix="sudo reboot").by("admin")
    admin.id, admin.area = "driver.kernel_module", "driver"
    you = warn("torchvision is missing", fix="python -m pip install torchvision").by("you")
    you.id, you.area = "torch.torchvision", "torch"
    plain = warn("something", fix="do it")
    plain.id, plain.area = "torch.cudnn", "torch"
    findings = [admin, you, plain]
    facts = Facts.of()
    console = Console(record=True, width=200)
    render_terminal(console, facts, findings, "/usr/bin/python3", verbose=False)
    text = console.export_text()
    assert "fix (needs the machine's admin): sudo reboot" in text
    assert "fix (no admin needed): python -m pip install torchvision" in text
    assert "fix: do it" in text
    doc = json.loads(render_json(facts, findings, "/usr/bin/python3"))
    assert [c["who"] for c in doc["checks"]] == ["admin", "you", None]
    markdown = render_markdown(facts, findings, "/usr/bin/python3")
    assert "fix (needs the machine's admin): `sudo reboot`" in markdown


def test_who_accepts_only_you_admin_or_none():
    finding = Finding("x.y", Status.FAIL, "s")
    assert finding.by(None).who is None
    try:
        finding.by("root")
    except ValueError as exc:
        assert "root" in str(exc)
    else:
        raise AssertionError("who='root' was accepted")
